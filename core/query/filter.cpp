#include "core/query/filter.hpp"

#include "core/lifecycle/readiness.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::query {

using artifact::Artifact;
using nlohmann::json;

namespace {

util::Error bad(std::string message) {
  return util::make_error(util::ErrorKind::invalid_argument, std::move(message));
}

// A param given as one string, a comma-separated string or a list of strings.
util::Result<std::vector<std::string>> string_list(const json& params, const char* key) {
  std::vector<std::string> out;
  auto it = params.find(key);
  if (it == params.end() || it->is_null())
    return out;
  auto split = [&](const std::string& s) {
    size_t start = 0;
    while (start <= s.size()) {
      auto comma = s.find(',', start);
      auto part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty())
        out.push_back(part);
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
  };
  if (it->is_string()) {
    split(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& v : *it) {
      if (!v.is_string())
        return bad(fmt::format("'{}' must be a list of strings", key));
      split(v.get<std::string>());
    }
  } else {
    return bad(fmt::format("'{}' must be a string or a list of strings", key));
  }
  return out;
}

util::Status check_allowed(const std::vector<std::string>& values, const char* what,
                           const std::vector<std::string_view>& allowed) {
  for (const auto& v : values)
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      return bad(
          fmt::format("unknown {} '{}' (expected one of: {})", what, v, fmt::join(allowed, ", ")));
  return util::ok_status();
}

int state_rank(const Artifact& a) {
  auto s = lifecycle::current_state(a);
  return s ? static_cast<int>(*s) : 99;
}

bool text_matches(const Artifact& a, const std::string& text) {
  if (contains_folded(a.title, text) || contains_folded(a.summary, text) ||
      contains_folded(a.vision, text) || contains_folded(a.id.str(), text))
    return true;
  for (const auto* list : {&a.acceptance_criteria, &a.deliverables, &a.validation,
                           &a.success_criteria, &a.scope_in, &a.scope_out, &a.notes})
    for (const auto& s : *list)
      if (contains_folded(s, text))
        return true;
  return false;
}

bool matches(const artifact::ArtifactIndex& index, const Artifact& a, const Filter& f) {
  if (!f.types.empty() && std::find(f.types.begin(), f.types.end(), a.type()) == f.types.end())
    return false;
  if (!f.states.empty() &&
      std::find(f.states.begin(), f.states.end(), lifecycle::state_name(a)) == f.states.end())
    return false;
  if (!f.priorities.empty() && std::find(f.priorities.begin(), f.priorities.end(),
                                         a.effective_priority()) == f.priorities.end())
    return false;
  if (!f.assignees.empty() &&
      std::none_of(f.assignees.begin(), f.assignees.end(),
                   [&](const std::string& who) { return contains_folded(a.assignee, who); }))
    return false;
  if (f.parent && !a.id.is_descendant_of(*f.parent))
    return false;
  if (!f.text.empty() && !text_matches(a, f.text))
    return false;
  if (f.ready && !lifecycle::is_ready(index, a))
    return false;
  return !f.blocked || lifecycle::is_waiting(index, a);
}

} // namespace

bool contains_folded(std::string_view haystack, std::string_view needle) {
  auto fold = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [&](char x, char y) { return fold(x) == fold(y); }) != haystack.end();
}

util::Result<Filter> parse_filter(const json& params) {
  Filter f;
  auto states = string_list(params, "state");
  auto types = string_list(params, "type");
  auto assignees = string_list(params, "assignee");
  auto priorities = string_list(params, "priority");
  for (auto* r : {&states, &types, &assignees, &priorities})
    if (!*r)
      return r->error();
  std::vector<std::string_view> state_names;
  for (auto s : lifecycle::all_states())
    state_names.push_back(lifecycle::to_string(s));
  KB_TRY(check_allowed(*states, "state", state_names));
  KB_TRY(check_allowed(*priorities, "priority", {"low", "medium", "high", "critical"}));
  KB_TRY(check_allowed(*types, "type", {"initiative", "milestone", "issue"}));
  f.states = std::move(*states);
  f.priorities = std::move(*priorities);
  f.assignees = std::move(*assignees);
  for (const auto& t : *types)
    f.types.push_back(*artifact::artifact_type_from_string(t));
  if (auto p = params.find("parent"); p != params.end() && !p->is_null()) {
    if (!p->is_string())
      return bad("'parent' must be an artifact ID");
    auto id = artifact::ArtifactId::parse_or_error(p->get<std::string>());
    KB_TRY(id);
    f.parent = *id;
  }
  f.text = params.value("text", "");
  f.ready = params.value("ready", false);
  f.blocked = params.value("blocked", false);
  f.reverse = params.value("reverse", false);
  auto limit = params.value("limit", 0);
  if (limit < 0)
    return bad("'limit' must not be negative");
  f.limit = static_cast<size_t>(limit);
  auto offset = params.value("offset", 0);
  if (offset < 0)
    return bad("'offset' must not be negative");
  f.offset = static_cast<size_t>(offset);
  std::string sort = params.value("sort", "id");
  if (sort == "id")
    f.sort = SortKey::id;
  else if (sort == "priority")
    f.sort = SortKey::priority;
  else if (sort == "state")
    f.sort = SortKey::state;
  else if (sort == "updated")
    f.sort = SortKey::updated;
  else
    return bad(
        fmt::format("unknown sort key '{}' (expected id, priority, state or updated)", sort));
  return f;
}

std::vector<const Artifact*> select(const artifact::ArtifactIndex& index, const Filter& f,
                                    size_t* matched) {
  std::vector<const Artifact*> out;
  for (const auto& [_, a] : index.all())
    if (matches(index, a, f))
      out.push_back(&a);
  // Natural ID order is the tie-breaker of every key (the map is already in that order).
  auto key_less = [&](const Artifact* x, const Artifact* y) {
    switch (f.sort) {
    case SortKey::id: return false;
    case SortKey::priority:
      return lifecycle::priority_weight(x->effective_priority()) >
             lifecycle::priority_weight(y->effective_priority());
    case SortKey::state: return state_rank(*x) < state_rank(*y);
    case SortKey::updated: return x->updated_at() > y->updated_at();
    }
    return false;
  };
  std::stable_sort(out.begin(), out.end(), key_less);
  if (f.reverse)
    std::reverse(out.begin(), out.end());
  if (matched)
    *matched = out.size();
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(std::min(f.offset, out.size())));
  if (f.limit && out.size() > f.limit)
    out.resize(f.limit);
  return out;
}

} // namespace kb::query
