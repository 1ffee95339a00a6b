#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/write_session.hpp"
#include "core/repo/git.hpp"

#include <map>
#include <set>

namespace kb::api {

using artifact::Artifact;
using lifecycle::State;

util::Result<json> project_init(Context&, const json& params) {
  auto dir = directory_param(params);
  KB_TRY(dir);
  auto result = repo::init_project(*dir);
  KB_TRY(result);
  json created = json::array();
  for (const auto& path : result->created_paths)
    created.push_back(result->project.relative(path));
  json out{
      {"root", result->project.root.string()}, {"created", result->created}, {"paths", created}};
  // In git, artifact files get the merge driver, so parallel branches merge.
  if (auto cli = params.find("cli"); cli != params.end() && cli->is_string() &&
                                     repo::git_output(result->project, {"rev-parse", "--git-dir"}))
    if (auto driver = register_merge_driver(result->project, cli->get<std::string>()))
      out["merge_driver"] = *driver;
  return out;
}

namespace {

json counts_by_state(const artifact::ArtifactIndex& index) {
  json counts = json::object();
  for (State s : lifecycle::all_states())
    counts[std::string(lifecycle::to_string(s))] = 0;
  for (const auto& [_, a] : index.all()) {
    auto name = lifecycle::state_name(a);
    counts[name] = counts.value(name, 0) + 1;
  }
  return counts;
}

json counts_by_type(const artifact::ArtifactIndex& index) {
  json counts{{"initiative", 0}, {"milestone", 0}, {"issue", 0}};
  for (const auto& [_, a] : index.all()) {
    auto key = std::string(artifact::to_string(a.type()));
    counts[key] = counts[key].get<int>() + 1;
  }
  return counts;
}

json in_progress_by_assignee(const artifact::ArtifactIndex& index) {
  std::map<std::string, json> groups;
  for (const auto& [_, a] : index.all()) {
    auto s = lifecycle::current_state(a);
    if (s != State::in_progress && s != State::in_review)
      continue;
    auto who = a.assignee.empty() ? std::string("(unassigned)") : a.assignee;
    auto& list = groups[who];
    if (list.is_null())
      list = json::array();
    list.push_back({{"id", a.id.str()},
                    {"type", artifact::to_string(a.type())},
                    {"title", a.title},
                    {"state", lifecycle::state_name(a)}});
  }
  json out = json::array();
  for (auto& [who, list] : groups)
    out.push_back({{"assignee", who}, {"artifacts", std::move(list)}});
  return out;
}

json blocked_work(const artifact::ArtifactIndex& index) {
  json out = json::array();
  for (const auto& [_, a] : index.all()) {
    if (!lifecycle::is_waiting(index, a))
      continue;
    out.push_back({{"id", a.id.str()},
                   {"title", a.title},
                   {"state", lifecycle::state_name(a)},
                   {"reasons", reasons_json(lifecycle::blocking_reasons(index, a))}});
  }
  return out;
}

} // namespace

util::Result<json> project_status(Context& ctx, const json& params) {
  auto p = open_project(ctx, params);
  KB_TRY(p);
  const auto& index = (*p)->index;
  return json{{"root", (*p)->project.root.string()},
              {"artifacts", index.size()},
              {"by_state", counts_by_state(index)},
              {"by_type", counts_by_type(index)},
              {"next", next_json(**p, 5)},
              {"in_progress", in_progress_by_assignee(index)},
              {"blocked", blocked_work(index)},
              {"problems", problems_json(**p)},
              {"services",
               {{"daemon", ctx.server_mode == "daemon" ? "running" : "not running (one-shot)"},
                {"github", "not configured"},
                {"team", "off"}}}};
}

util::Result<json> presence_info(Context& ctx, const json& params) {
  auto p = open_project(ctx, params);
  KB_TRY(p);
  const auto& project = (*p)->project;
  // Nobody known (no actor setting, no git user) still shows, nameless, with the reason.
  auto person = resolve_person(project, params);
  std::string text = person ? *person : std::string();
  auto open = text.rfind('(');
  auto name = text.substr(0, open == std::string::npos ? text.size() : open);
  while (!name.empty() && name.back() == ' ')
    name.pop_back();
  auto email =
      open == std::string::npos ? std::string() : text.substr(open + 1, text.size() - open - 2);
  auto branch = repo::current_branch(project);
  std::set<std::string> claimed;
  for (const auto& c : params.value("claimed", json::array()))
    if (c.is_string())
      claimed.insert(c.get<std::string>());
  json working = json::array();
  for (const auto& [_, a] : (*p)->index.all()) {
    auto s = lifecycle::current_state(a);
    bool on_branch = a.id.str() == branch;
    bool theirs = !email.empty() && a.assignee.find(email) != std::string::npos;
    bool active = s == State::in_progress || s == State::in_review;
    if (!claimed.contains(a.id.str()) && !(active && (on_branch || theirs)))
      continue;
    json item{{"id", a.id.str()}, {"title", a.title}, {"state", lifecycle::state_name(a)}};
    if (on_branch)
      working.insert(working.begin(), std::move(item));
    else
      working.push_back(std::move(item));
  }
  json out{
      {"name", name}, {"email", email}, {"branch", branch}, {"working_on", std::move(working)}};
  if (!person)
    out["unknown"] = person.error().message;
  return out;
}

} // namespace kb::api
