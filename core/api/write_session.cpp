// Shared by the handlers that write: locking, the actor, validation of changes, commits.
#include "core/api/write_session.hpp"

#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/settings.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/validate/rules.hpp"
#include "core/validate/validator.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

namespace {

// An agent's name as it may stand in an actor: no parentheses or control characters, at most
// 64 bytes, never empty.
std::string agent_name(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '(' || c == ')')
      c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' '))
      continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  if (out.size() > 64)
    out.resize(64);
  return out.empty() ? std::string("AI agent") : out;
}

// `person` acting through an agent, in the form of the `mcp.actor` setting ({agent}, {name},
// {email}); a person given as agent.* stays as is.
util::Result<std::string> agent_actor(const repo::Project& p, const std::string& person,
                                      std::string_view agent) {
  auto open = person.rfind(" (");
  if (open == std::string::npos || person.back() != ')')
    return person;
  std::string name = person.substr(0, open);
  std::string email = person.substr(open + 2, person.size() - open - 3);
  std::string out = setting_value(p, "mcp.actor").get<std::string>();
  for (auto [key, value] : {std::pair<std::string_view, std::string>{"{agent}", agent_name(agent)},
                            {"{name}", name},
                            {"{email}", email}})
    for (auto at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
      out.replace(at, key.size(), value);
  if (!validate::is_strict_actor(out))
    return util::make_error(
        util::ErrorKind::invalid_argument,
        fmt::format("the mcp.actor setting gives '{}', which is not an actor", out),
        {{"hint", "keep the form `Name (email)`, e.g. `kodebase config set mcp.actor "
                  "\"{agent} for {name} ({email})\"`"}});
  return out;
}

} // namespace

util::Result<std::string> resolve_actor(const repo::Project& p, const json& params) {
  auto person = resolve_person(p, params);
  if (!person)
    return person;
  if (auto agent = params.find("agent"); agent != params.end() && agent->is_string())
    return agent_actor(p, *person, agent->get<std::string>());
  return person;
}

util::Result<std::string> resolve_person(const repo::Project& p, const json& params) {
  std::string actor = params.value("actor", "");
  if (actor.empty())
    if (const char* env = std::getenv("KODEBASE_ACTOR"))
      actor = env;
  if (actor.empty()) {
    // The user's own setting (`kodebase config set actor ...`) comes before git's.
    auto text = util::read_file(user_config_file());
    auto doc =
        text ? artifact::parse_yaml(*text) : util::Result<artifact::YamlNode>(artifact::YamlNode{});
    if (doc)
      actor = artifact::scalar_text(doc->find("actor"));
  }
  if (actor.empty()) {
    auto name = repo::git_output(p, {"config", "--get", "user.name"}).value_or("");
    auto email = repo::git_output(p, {"config", "--get", "user.email"}).value_or("");
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

util::Result<WriteSession> open_for_write(Context& ctx, const json& params) {
  auto project = project_param(params);
  KB_TRY(project);
  auto lock = repo::WriteLock::acquire(*project);
  KB_TRY(lock);
  auto loaded = ctx.projects.open(project->root);
  KB_TRY(loaded);
  return WriteSession{*project, std::move(*lock), std::move(*loaded)};
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

util::Status check_known_fields(const json& params, std::span<const std::string_view> known) {
  for (const auto& [key, _] : params.items()) {
    if (key == "directory" || key == "actor" || key == "agent" || key == "dry_run")
      continue;
    if (std::find(known.begin(), known.end(), key) == known.end())
      return util::make_error(
          util::ErrorKind::invalid_argument,
          fmt::format("unknown field '{}' (known: {})", key, fmt::join(known, ", ")));
  }
  return util::ok_status();
}

util::Result<json> commit_files(WriteSession& session,
                                const std::map<std::filesystem::path, std::string>& files,
                                const json& params, json result) {
  if (auto errors = new_errors(session.index(), files); !errors.empty())
    return invalid_result(session.project, errors);
  bool dry_run = params.value("dry_run", false);
  if (!dry_run && !files.empty()) {
    repo::Transaction tx;
    for (const auto& [path, text] : files)
      tx.put(path, text);
    KB_TRY(tx.commit(session.project));
  }
  json changed = json::array();
  for (const auto& [path, _] : files)
    changed.push_back(session.project.relative(path));
  result["files"] = changed;
  result["dry_run"] = dry_run;
  return result;
}

util::Result<json> commit_edits(WriteSession& session, const artifact::EditSet& edits,
                                const json& params, json result) {
  return commit_files(session, edits.texts(), params, std::move(result));
}

} // namespace kb::api
