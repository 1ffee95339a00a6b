#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/settings.hpp"
#include "core/query/context_pack.hpp"
#include "core/query/filter.hpp"
#include "core/query/tree.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"

#include <fmt/format.h>

namespace kb::api {

using artifact::Artifact;

json next_json(const LoadedProject& p, size_t limit) {
  json out = json::array();
  for (const auto& item : lifecycle::next_work(p.index)) {
    if (limit && out.size() == limit)
      break;
    json entry = summary_json(p, *item.artifact);
    entry["startable"] = item.startable;
    entry["hint"] = item.hint;
    out.push_back(std::move(entry));
  }
  return out;
}

// Open issues that next_work leaves out because something holds them up, with why.
json waiting_json(const LoadedProject& p, size_t limit) {
  json out = json::array();
  for (const Artifact* a : lifecycle::held_work(p.index)) {
    if (limit && out.size() == limit)
      break;
    json entry = summary_json(p, *a);
    entry["blocking_reasons"] = reasons_json(lifecycle::blocking_reasons(p.index, *a));
    out.push_back(std::move(entry));
  }
  return out;
}

util::Result<std::string> artifacts_list(Context& ctx, const json& params) {
  auto filter = query::parse_filter(params);
  KB_TRY(filter);
  auto p = open_project(ctx, params);
  KB_TRY(p);
  // {"artifacts":[…],"matched":N,"problems":[…],"total":N}, keys in the order a JSON object
  // dumps them; the entries are each artifact's cached text, so a warm list copies bytes
  // instead of building and serialising ten thousand objects.
  size_t matched = 0;
  auto selected = query::select((*p)->index, *filter, &matched);
  // A second file with a listed ID is listed right after the first, never dropped.
  const auto& duplicates = (*p)->index.duplicates();
  if (!duplicates.empty()) {
    std::vector<const Artifact*> with;
    for (const Artifact* a : selected) {
      with.push_back(a);
      for (const auto& d : duplicates)
        if (d.id == a->id)
          with.push_back(&d);
    }
    matched += with.size() - selected.size();
    selected = std::move(with);
  }
  std::string out = R"({"artifacts":[)";
  auto is_duplicate = [&](const Artifact* a) {
    return !duplicates.empty() && a >= duplicates.data() &&
           a < duplicates.data() + duplicates.size();
  };
  auto text_of = [&](const Artifact* a) -> const std::string& {
    if (!is_duplicate(a))
      return summary_text(**p, *a);
    json entry = summary_json(**p, *a);
    entry["duplicate"] = true; // renumber it: `kodebase renumber ID --file PATH`
    a->summary_text = entry.dump();
    return a->summary_text;
  };
  size_t size = 64;
  for (const Artifact* a : selected)
    size += text_of(a).size() + 1;
  out.reserve(size);
  for (const Artifact* a : selected) {
    out += text_of(a);
    out += ',';
  }
  if (!selected.empty())
    out.pop_back();
  out += R"(],"matched":)";
  out += std::to_string(matched);
  out += R"(,"problems":)";
  out += problems_json(**p).dump();
  out += R"(,"total":)";
  out += std::to_string((*p)->index.size());
  out += '}';
  return out;
}

util::Result<json> artifacts_get(Context& ctx, const json& params) {
  auto p = open_project(ctx, params);
  KB_TRY(p);
  auto a = artifact_param(**p, params);
  KB_TRY(a);
  json out = full_json(**p, **a);
  if (params.value("source", false)) { // the file as written, for readers that want YAML
    auto text = util::read_file((*a)->path);
    KB_TRY(text);
    out["source"] = std::move(*text);
  }
  return out;
}

util::Result<json> artifacts_tree(Context& ctx, const json& params) {
  std::optional<artifact::ArtifactId> root;
  if (auto it = params.find("id"); it != params.end() && !it->is_null()) {
    auto id = artifact::ArtifactId::parse_or_error(it->is_string() ? it->get<std::string>() : "");
    KB_TRY(id);
    root = *id;
  }
  auto p = open_project(ctx, params);
  KB_TRY(p);
  if (root && !(*p)->index.find(*root)) {
    auto a = artifact_param(**p, params); // gives the not-found error with its hint
    return a.error();
  }
  return json{{"roots", query::build_tree((*p)->index, root)}, {"problems", problems_json(**p)}};
}

util::Result<json> artifacts_log(Context& ctx, const json& params) {
  auto p = open_project(ctx, params);
  KB_TRY(p);
  auto a = artifact_param(**p, params);
  KB_TRY(a);
  json events = json::array();
  for (const auto& e : (*a)->events)
    events.push_back(event_json(e));
  return json{{"id", (*a)->id.str()},
              {"title", (*a)->title},
              {"state", lifecycle::state_name(**a)},
              {"events", std::move(events)}};
}

util::Result<json> artifacts_next(Context& ctx, const json& params) {
  auto limit = params.value("limit", 0);
  if (limit < 0)
    return util::make_error(util::ErrorKind::invalid_argument, "'limit' must not be negative");
  auto p = open_project(ctx, params);
  KB_TRY(p);
  json out{{"items", next_json(**p, static_cast<size_t>(limit))}};
  if (params.value("waiting", false)) // and the open issues that cannot be picked up, with why
    out["waiting"] = waiting_json(**p, static_cast<size_t>(limit));
  return out;
}

util::Result<json> artifacts_context(Context& ctx, const json& params) {
  auto format = query::context_format_from_string(params.value("format", "standard"));
  KB_TRY(format);
  auto p = open_project(ctx, params);
  KB_TRY(p);
  auto a = artifact_param(**p, params);
  KB_TRY(a);
  return json{{"id", (*a)->id.str()},
              {"format", params.value("format", "standard")},
              {"markdown", query::context_pack((*p)->index, **a, *format)}};
}

util::Result<json> artifacts_commits(Context& ctx, const json& params) {
  auto limit = params.value("limit", 50);
  if (limit <= 0)
    return util::make_error(util::ErrorKind::invalid_argument, "'limit' must be positive");
  auto p = open_project(ctx, params);
  KB_TRY(p);
  auto a = artifact_param(**p, params);
  KB_TRY(a);
  const auto& project = (*p)->project;
  std::string branch = (*a)->id.str();
  auto base = repo::default_branch(
      project, setting_value(project, "gitOps.branches.mainBranch").get<std::string>());
  json out{{"id", branch}, {"branch", branch}, {"base", base}, {"commits", json::array()}};
  if (!repo::git_output(project, {"rev-parse", "--verify", "--quiet", "refs/heads/" + branch}))
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("{} has no branch named {}", branch, branch),
                            {{"hint", fmt::format("`kodebase start {}` creates it", branch)}});
  // Unit separators between fields, record separators between commits: subjects and bodies
  // may hold anything else.
  auto log = repo::git_output(project,
                              {"log", fmt::format("--max-count={}", limit),
                               "--format=%H%x1f%an <%ae>%x1f%aI%x1f%s%x1f%b%x1e",
                               fmt::format("{}..{}", base, branch), "--"},
                              false);
  if (!log)
    return util::make_error(
        util::ErrorKind::failed, fmt::format("git log {}..{} failed", base, branch),
        {{"hint", "check that the base branch exists (gitOps.branches.mainBranch)"}});
  for (size_t start = 0; start < log->size();) {
    auto end = log->find('\x1e', start);
    if (end == std::string::npos)
      break;
    std::string record = log->substr(start, end - start);
    start = end + 1;
    while (!record.empty() && (record.front() == '\n'))
      record.erase(0, 1);
    std::vector<std::string> f;
    for (size_t at = 0;;) {
      auto sep = record.find('\x1f', at);
      f.push_back(record.substr(at, sep == std::string::npos ? std::string::npos : sep - at));
      if (sep == std::string::npos)
        break;
      at = sep + 1;
    }
    if (f.size() < 5)
      continue;
    while (!f[4].empty() && (f[4].back() == '\n' || f[4].back() == ' '))
      f[4].pop_back();
    out["commits"].push_back(
        {{"sha", f[0]}, {"author", f[1]}, {"time", f[2]}, {"subject", f[3]}, {"body", f[4]}});
  }
  return out;
}

} // namespace kb::api
