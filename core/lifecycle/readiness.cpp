#include "core/lifecycle/readiness.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::lifecycle {

using artifact::Artifact;
using artifact::ArtifactIndex;

std::optional<State> current_state(const Artifact& a) {
  if (a.events.empty())
    return State::draft;
  return state_from_string(a.events.back().event);
}

std::string state_name(const Artifact& a) {
  return a.events.empty() ? std::string("draft") : a.events.back().event;
}

bool ever_in(const Artifact& a, State s) {
  auto name = to_string(s);
  return std::any_of(a.events.begin(), a.events.end(),
                     [&](const artifact::EventRecord& e) { return e.event == name; });
}

bool blocker_done(const Artifact& blocker) {
  auto s = current_state(blocker);
  return ever_in(blocker, State::completed) || s == State::cancelled || s == State::archived;
}

std::string_view to_string(ReasonType t) {
  switch (t) {
  case ReasonType::incomplete_dependencies: return "incomplete_dependencies";
  case ReasonType::incomplete_parent: return "incomplete_parent";
  case ReasonType::invalid_state: return "invalid_state";
  }
  return "invalid_state";
}

namespace {

// blocked_by entries that exist and have never been completed.
std::vector<const Artifact*> open_blockers(const ArtifactIndex& index, const Artifact& a) {
  std::vector<const Artifact*> out;
  for (const auto& dep : a.blocked_by) {
    const Artifact* d = index.find(dep);
    if (d && !blocker_done(*d))
      out.push_back(d);
  }
  return out;
}

std::string describe(const Artifact& a) {
  return fmt::format("{} ({})", a.id.str(), state_name(a));
}

} // namespace

bool is_blocked(const ArtifactIndex& index, const Artifact& a) {
  return !open_blockers(index, a).empty();
}

bool ancestor_blocked_or_cancelled(const ArtifactIndex& index, const Artifact& a) {
  for (const auto& anc : a.id.ancestors()) {
    const Artifact* p = index.find(anc);
    if (!p)
      continue;
    auto s = current_state(*p);
    if (s == State::blocked || s == State::cancelled)
      return true;
  }
  return false;
}

std::vector<BlockingReason> blocking_reasons(const ArtifactIndex& index, const Artifact& a) {
  std::vector<BlockingReason> out;
  auto state = current_state(a);
  if (state && is_terminal(*state)) {
    out.push_back(
        {ReasonType::invalid_state,
         fmt::format("{} is {}; no further work happens on it", a.id.str(), to_string(*state)),
         {}});
    return out;
  }
  if (!state) {
    out.push_back({ReasonType::invalid_state,
                   fmt::format("{} has an unknown state '{}'; run `kodebase validate {}`",
                               a.id.str(), state_name(a), a.id.str()),
                   {}});
  }
  // Ready means one thing everywhere (list --ready, show, next, completions, MCP): it can be
  // started now. Only the `ready` state can be; the others say what comes first.
  auto blockers = open_blockers(index, a);
  if (state == State::draft)
    out.push_back({ReasonType::invalid_state,
                   fmt::format("{} is a draft: mark it ready first (kodebase ready {})", a.id.str(),
                               a.id.str()),
                   {}});
  else if (state == State::in_progress || state == State::in_review)
    out.push_back({ReasonType::invalid_state,
                   fmt::format("{} is {}: started already", a.id.str(), to_string(*state)),
                   {}});
  else if (state == State::blocked && blockers.empty())
    out.push_back({ReasonType::invalid_state,
                   fmt::format("{} is recorded as blocked, but nothing it waits on is open: "
                               "kodebase ready {}",
                               a.id.str(), a.id.str()),
                   {}});
  if (!blockers.empty()) {
    BlockingReason r{ReasonType::incomplete_dependencies, {}, {}};
    std::vector<std::string> parts;
    for (const Artifact* b : blockers) {
      r.related.push_back(b->id.str());
      parts.push_back(describe(*b));
    }
    r.message = fmt::format("waiting on {}", fmt::join(parts, ", "));
    out.push_back(std::move(r));
  }
  if (ever_in(a, State::ready)) {
    for (const auto& anc : a.id.ancestors()) {
      const Artifact* p = index.find(anc);
      if (!p)
        continue;
      auto ps = current_state(*p);
      if (ps == State::ready || ps == State::in_progress)
        continue;
      out.push_back({ReasonType::incomplete_parent,
                     fmt::format("{} {} is {}; it must be ready or in_progress",
                                 artifact::to_string(p->type()), p->id.str(), state_name(*p)),
                     {p->id.str()}});
    }
  }
  return out;
}

bool is_ready(const ArtifactIndex& index, const Artifact& a) {
  return blocking_reasons(index, a).empty();
}

bool is_waiting(const ArtifactIndex& index, const Artifact& a) {
  auto s = current_state(a);
  if (!s || is_terminal(*s))
    return false;
  return *s == State::blocked || is_blocked(index, a);
}

int priority_weight(std::string_view priority) {
  if (priority == "critical")
    return 4;
  if (priority == "high")
    return 3;
  if (priority == "medium")
    return 2;
  if (priority == "low")
    return 1;
  return 0;
}

namespace {

// Whether some ancestor is in a state that rules out new work below it.
bool ancestor_closed(const ArtifactIndex& index, const Artifact& a) {
  for (const auto& anc : a.id.ancestors()) {
    const Artifact* p = index.find(anc);
    if (!p)
      continue;
    auto s = current_state(*p);
    if (!s || *s == State::blocked || is_terminal(*s) || *s == State::in_review)
      return true;
  }
  return false;
}

// An issue that is yet to be worked on: ready, draft or blocked.
bool open_issue(const Artifact& a, std::optional<State>& s) {
  s = current_state(a);
  return a.type() == artifact::ArtifactType::issue && s &&
         (*s == State::ready || *s == State::draft || *s == State::blocked);
}

} // namespace

std::vector<NextItem> next_work(const ArtifactIndex& index) {
  std::vector<NextItem> out;
  std::optional<State> s;
  for (const auto& [id, a] : index.all()) {
    if (!open_issue(a, s) || is_blocked(index, a) || ancestor_closed(index, a))
      continue;
    bool startable = *s == State::ready && is_ready(index, a);
    std::string hint;
    if (startable)
      hint = fmt::format("kodebase start {}", id.str());
    else if (*s == State::ready)
      hint = "its parent is not under way yet";
    else
      hint = fmt::format("{}: mark it ready first (kodebase ready {})", to_string(*s), id.str());
    out.push_back(NextItem{&a, startable, std::move(hint)});
  }
  std::stable_sort(out.begin(), out.end(), [](const NextItem& x, const NextItem& y) {
    if (x.startable != y.startable)
      return x.startable;
    int px = priority_weight(x.artifact->effective_priority());
    int py = priority_weight(y.artifact->effective_priority());
    if (px != py)
      return px > py;
    return x.artifact->id < y.artifact->id;
  });
  return out;
}

std::vector<const Artifact*> held_work(const ArtifactIndex& index) {
  std::vector<const Artifact*> out;
  std::optional<State> s;
  for (const auto& [id, a] : index.all())
    if (open_issue(a, s) && (is_blocked(index, a) || ancestor_closed(index, a)))
      out.push_back(&a);
  std::stable_sort(out.begin(), out.end(), [](const Artifact* x, const Artifact* y) {
    return priority_weight(x->effective_priority()) > priority_weight(y->effective_priority());
  });
  return out;
}

} // namespace kb::lifecycle
