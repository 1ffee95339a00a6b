// Handlers that change artifacts: create and the lifecycle transitions.
#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/artifact/edit.hpp"
#include "core/artifact/writer.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/lifecycle/transition.hpp"
#include "core/repo/store.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/util/time.hpp"
#include "core/validate/rules.hpp"
#include "core/validate/validator.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

using artifact::ArtifactId;
using artifact::YamlNode;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string git_config(const repo::Project& p, const char* key) {
  auto r = util::run_capture({"git", "-C", p.root.string(), "config", "--get", key});
  return r && r->exit_code == 0 ? trimmed(r->out) : std::string();
}

// The actor of a human action: params.actor, $KODEBASE_ACTOR, or git's user.name and
// user.email as `Name (email)`.
util::Result<std::string> resolve_actor(const repo::Project& p, const json& params) {
  std::string actor = params.value("actor", "");
  if (actor.empty())
    if (const char* env = std::getenv("KODEBASE_ACTOR"))
      actor = env;
  if (actor.empty()) {
    auto name = git_config(p, "user.name"), email = git_config(p, "user.email");
    if (name.empty() || email.empty())
      return util::make_error(
          util::ErrorKind::failed, "cannot tell who is acting: no KODEBASE_ACTOR and no git user",
          {{"hint", "set KODEBASE_ACTOR=\"Name (email@example.com)\", or git config user.name "
                    "and user.email"}});
    actor = fmt::format("{} ({})", name, email);
  }
  if (!validate::is_strict_actor(actor))
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("'{}' is not an actor", actor),
                            {{"hint", "use `Full Name (email@domain.tld)` or agent.system"}});
  return actor;
}

// Errors the changed files would have that they did not have before (rules of each
// artifact on its own; transitions do not change relationships).
std::vector<validate::Finding>
new_errors(const artifact::ArtifactIndex& before,
           const std::map<std::filesystem::path, std::string>& files) {
  std::vector<validate::Finding> out;
  auto same = [](const validate::Finding& x, const validate::Finding& y) {
    return x.code == y.code && x.field == y.field;
  };
  for (const auto& [path, text] : files) {
    auto id = artifact::id_from_filename(path.filename().string());
    if (!id)
      continue;
    auto read = artifact::read_artifact_text(*id, path, text);
    if (auto* problem = std::get_if<artifact::FileProblem>(&read)) {
      out.push_back({id->str(), path, validate::Severity::error, problem->code, problem->message,
                     "", problem->mark, ""});
      continue;
    }
    std::vector<validate::Finding> old;
    if (const artifact::Artifact* a = before.find(*id); a && a->path == path)
      old = validate::validate_artifact(*a, validate::Mode::lenient);
    for (auto& f :
         validate::validate_artifact(std::get<artifact::Artifact>(read), validate::Mode::lenient))
      if (f.severity == validate::Severity::error &&
          std::none_of(old.begin(), old.end(), [&](const auto& g) { return same(f, g); }))
        out.push_back(std::move(f));
  }
  return out;
}

util::Error invalid_result(const repo::Project& project,
                           const std::vector<validate::Finding>& errors) {
  json list = json::array();
  std::vector<std::string> parts;
  for (const auto& f : errors) {
    list.push_back(finding_json(project, f));
    parts.push_back(fmt::format("{} {}: {}", f.id, f.code, f.message));
  }
  return util::make_error(
      util::ErrorKind::failed,
      fmt::format("the change would leave invalid artifacts: {}", fmt::join(parts, "; ")),
      {{"errors", list}, {"hint", "nothing was written"}});
}

// Locks the project, loads it fresh, and returns both.
struct WriteSession {
  repo::Project project;
  repo::WriteLock lock;
  artifact::ArtifactIndex index;
};

util::Result<WriteSession> open_for_write(const json& params) {
  auto dir = directory_param(params);
  if (!dir)
    return dir.error();
  auto project = repo::find_project(*dir);
  if (!project)
    return project.error();
  auto lock = repo::WriteLock::acquire(*project);
  if (!lock)
    return lock.error();
  auto index = artifact::load_index(project->artifacts_dir());
  return WriteSession{*project, std::move(*lock), std::move(index)};
}

util::Result<json> transition(const json& params, lifecycle::Action action) {
  auto id_text = string_param(params, "id");
  if (!id_text)
    return id_text.error();
  auto id = ArtifactId::parse_or_error(*id_text);
  if (!id)
    return id.error();
  auto session = open_for_write(params);
  if (!session)
    return session.error();
  auto actor = resolve_actor(session->project, params);
  if (!actor)
    return actor.error();
  lifecycle::TransitionRequest request{action,
                                       *id,
                                       *actor,
                                       util::format_utc(util::now_seconds()),
                                       params.value("reason", ""),
                                       params.value("completion", json(nullptr))};
  auto plan = lifecycle::plan_transition(session->index, request);
  if (!plan)
    return plan.error();
  if (auto errors = new_errors(session->index, plan->files); !errors.empty())
    return invalid_result(session->project, errors);
  bool dry_run = params.value("dry_run", false);
  if (!dry_run && !plan->noop) {
    repo::Transaction tx;
    for (const auto& [path, text] : plan->files)
      tx.put(path, text);
    if (auto st = tx.commit(session->project); !st)
      return st.error();
  }
  json events = json::array(), files = json::array();
  for (const auto& e : plan->events)
    events.push_back({{"id", e.id},
                      {"from", e.from},
                      {"to", e.to},
                      {"trigger", e.trigger},
                      {"cascade", e.cascade},
                      {"note", e.note}});
  for (const auto& [path, _] : plan->files)
    files.push_back(session->project.relative(path));
  return json{{"id", id->str()},    {"action", lifecycle::to_string(action)},
              {"dry_run", dry_run}, {"noop", plan->noop},
              {"actor", *actor},    {"events", events},
              {"files", files},     {"notes", plan->notes}};
}

// A string list param: absent → empty; a string counts as one item.
util::Result<std::vector<std::string>> list_param(const json& params, const char* key) {
  std::vector<std::string> out;
  auto it = params.find(key);
  if (it == params.end() || it->is_null())
    return out;
  if (it->is_string())
    return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array())
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("'{}' must be a list of strings", key));
  for (const auto& v : *it) {
    if (!v.is_string())
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("'{}' must be a list of strings", key));
    out.push_back(v.get<std::string>());
  }
  return out;
}

YamlNode list_node(const std::vector<std::string>& items, bool plain = false) {
  YamlNode n;
  n.kind = YamlNode::Kind::sequence;
  for (const auto& i : items)
    n.items.push_back(artifact::scalar_node(i, plain));
  return n;
}

YamlNode map_node() {
  YamlNode n;
  n.kind = YamlNode::Kind::mapping;
  return n;
}

void put(YamlNode& map, std::string key, YamlNode value) {
  map.entries.push_back({std::move(key), {}, std::move(value)});
}

// The content block for a new artifact; missing required parts get TODO placeholders, which
// are listed in `placeholders` so the caller can tell the user what to fill in.
util::Result<YamlNode> content_for(artifact::ArtifactType type, const json& params,
                                   const std::string& title,
                                   std::vector<std::string>& placeholders) {
  YamlNode content = map_node();
  auto text = [&](const char* key, const char* todo) {
    std::string v = params.value(key, "");
    if (v.empty()) {
      placeholders.push_back(fmt::format("content.{}", key));
      v = todo;
    }
    return artifact::scalar_node(v);
  };
  auto list = [&](const char* param, const char* field,
                  const char* todo) -> util::Result<YamlNode> {
    auto items = list_param(params, param);
    if (!items)
      return items.error();
    if (items->empty()) {
      placeholders.push_back(field);
      items->push_back(todo);
    }
    return list_node(*items);
  };
  using artifact::ArtifactType;
  if (type == ArtifactType::initiative) {
    put(content, "vision", text("vision", "TODO: Add vision statement"));
    auto in = list("scope_in", "content.scope.in", "TODO: Add in-scope items");
    auto out = list("scope_out", "content.scope.out", "TODO: Add out-of-scope items");
    auto success =
        list("success_criteria", "content.success_criteria", "TODO: Add success criteria");
    for (auto* r : {&in, &out, &success})
      if (!*r)
        return r->error();
    YamlNode scope = map_node();
    put(scope, "in", std::move(*in));
    put(scope, "out", std::move(*out));
    put(content, "scope", std::move(scope));
    put(content, "success_criteria", std::move(*success));
    return content;
  }
  std::string summary = params.value("summary", "");
  put(content, "summary", artifact::scalar_node(summary.empty() ? title : summary));
  if (type == ArtifactType::milestone) {
    auto deliverables = list("deliverables", "content.deliverables", "TODO: Add deliverables");
    if (!deliverables)
      return deliverables.error();
    put(content, "deliverables", std::move(*deliverables));
    auto validation = list_param(params, "validation");
    if (!validation)
      return validation.error();
    if (!validation->empty())
      put(content, "validation", list_node(*validation));
    return content;
  }
  auto criteria =
      list("acceptance_criteria", "content.acceptance_criteria", "TODO: Add acceptance criteria");
  if (!criteria)
    return criteria.error();
  put(content, "acceptance_criteria", std::move(*criteria));
  return content;
}

} // namespace

util::Result<json> artifacts_create(Context&, const json& params) {
  std::optional<ArtifactId> parent;
  if (auto it = params.find("parent"); it != params.end() && !it->is_null()) {
    auto p = ArtifactId::parse_or_error(it->is_string() ? it->get<std::string>() : "");
    if (!p)
      return p.error();
    if (p->type() == artifact::ArtifactType::issue)
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("{} is an issue; issues cannot have children", p->str()));
    parent = *p;
  }
  auto title = string_param(params, "title");
  if (!title)
    return title.error();
  auto blocked_by = list_param(params, "blocked_by");
  auto notes = list_param(params, "notes");
  for (auto* r : {&blocked_by, &notes})
    if (!*r)
      return r->error();
  auto session = open_for_write(params);
  if (!session)
    return session.error();
  const auto& index = session->index;
  const artifact::Artifact* parent_artifact = parent ? index.find(*parent) : nullptr;
  if (parent && !parent_artifact)
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("parent {} not found", parent->str()),
                            {{"hint", "run `kodebase list` to see the artifact IDs"}});
  if (parent_artifact) {
    auto ps = lifecycle::current_state(*parent_artifact);
    if (ps && lifecycle::is_terminal(*ps))
      return util::make_error(util::ErrorKind::failed,
                              fmt::format("{} is {}; new work cannot go under it", parent->str(),
                                          lifecycle::state_name(*parent_artifact)));
  }
  auto actor = resolve_actor(session->project, params);
  if (!actor)
    return actor.error();
  auto id = artifact::next_id(parent, index.ids());
  auto slug = artifact::slugify(*title);
  auto path =
      artifact::path_for_new(session->project.artifacts_dir(), id, slug,
                             parent_artifact ? std::optional(parent_artifact->path) : std::nullopt);
  std::vector<std::string> placeholders;
  auto content = content_for(id.type(), params, *title, placeholders);
  if (!content)
    return content.error();

  YamlNode relationships = map_node();
  put(relationships, "blocks", list_node({}, true));
  put(relationships, "blocked_by", list_node(*blocked_by, true));
  YamlNode draft = map_node();
  put(draft, "event", artifact::scalar_node("draft", true));
  put(draft, "timestamp", artifact::scalar_node(util::format_utc(util::now_seconds())));
  put(draft, "actor", artifact::scalar_node(*actor));
  put(draft, "trigger", artifact::scalar_node("artifact_created", true));
  YamlNode events;
  events.kind = YamlNode::Kind::sequence;
  events.items.push_back(std::move(draft));
  YamlNode meta = map_node();
  put(meta, "title", artifact::scalar_node(*title));
  put(meta, "priority", artifact::scalar_node(params.value("priority", "medium"), true));
  put(meta, "estimation", artifact::scalar_node(params.value("estimation", "S"), true));
  put(meta, "created_by", artifact::scalar_node(*actor));
  put(meta, "assignee", artifact::scalar_node(params.value("assignee", *actor)));
  put(meta, "schema_version", artifact::scalar_node("0.0.1"));
  put(meta, "relationships", std::move(relationships));
  put(meta, "events", std::move(events));
  YamlNode doc = map_node();
  put(doc, "metadata", std::move(meta));
  put(doc, "content", std::move(*content));
  if (!notes->empty())
    put(doc, "notes", list_node(*notes));
  std::map<std::filesystem::path, std::string> files{{path, artifact::write_canonical(doc)}};

  // Both sides of each dependency: the blockers list the new artifact in `blocks`.
  for (const auto& b : *blocked_by) {
    const artifact::Artifact* blocker = index.find(b);
    if (!blocker)
      return util::make_error(util::ErrorKind::not_found,
                              fmt::format("blocked-by target {} not found", b),
                              {{"hint", "run `kodebase list` to see the artifact IDs"}});
    auto text = util::read_file(blocker->path);
    if (!text)
      return text.error();
    auto d = artifact::DocumentText::parse(std::move(*text));
    if (!d)
      return d.error();
    if (auto st = d->add_to_list({"metadata", "relationships", "blocks"}, id.str()); !st)
      return st.error();
    files[blocker->path] = d->text();
  }
  if (auto errors = new_errors(index, files); !errors.empty())
    return invalid_result(session->project, errors);
  if (!params.value("dry_run", false)) {
    repo::Transaction tx;
    for (const auto& [p, text] : files)
      tx.put(p, text);
    if (auto st = tx.commit(session->project); !st)
      return st.error();
  }
  json changed = json::array();
  for (const auto& [p, _] : files)
    changed.push_back(session->project.relative(p));
  return json{{"id", id.str()},
              {"type", artifact::to_string(id.type())},
              {"title", *title},
              {"state", "draft"},
              {"parent", parent ? json(parent->str()) : json(nullptr)},
              {"path", session->project.relative(path)},
              {"blocked_by", *blocked_by},
              {"placeholders", placeholders},
              {"files", changed},
              {"dry_run", params.value("dry_run", false)}};
}

util::Result<json> artifacts_ready(Context&, const json& params) {
  return transition(params, lifecycle::Action::ready);
}
util::Result<json> artifacts_start(Context&, const json& params) {
  return transition(params, lifecycle::Action::start);
}
util::Result<json> artifacts_submit(Context&, const json& params) {
  return transition(params, lifecycle::Action::submit);
}
util::Result<json> artifacts_complete(Context&, const json& params) {
  return transition(params, lifecycle::Action::complete);
}
util::Result<json> artifacts_cancel(Context&, const json& params) {
  return transition(params, lifecycle::Action::cancel);
}

} // namespace kb::api
