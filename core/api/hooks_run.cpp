// `hooks run`: what each git hook does for the project. Hooks never fail git for an internal
// reason; only pre-commit (invalid staged artifacts) and pre-push (by policy) block on purpose.
#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/artifact/yaml.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/validate/validator.hpp"

#include <fmt/format.h>
#include <set>

namespace kb::api {

namespace {

std::string git_text(const repo::Project& p, std::vector<std::string> args) {
  return repo::git_output(p, std::move(args), false).value_or("");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl - pos);
    if (!line.empty())
      out.push_back(line);
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

// A boolean project setting under `hooks:` in .kodebase/config/settings.yml.
bool hook_policy(const repo::Project& p, const char* key) {
  auto text = util::read_file(p.settings_file());
  if (!text)
    return false;
  auto doc = artifact::parse_yaml(*text);
  const artifact::YamlNode* hooks = doc ? doc->find("hooks") : nullptr;
  const artifact::YamlNode* value = hooks ? hooks->find(key) : nullptr;
  return value && value->to_json() == true;
}

void no_artifact(const artifact::ArtifactId& id, json& out) {
  out["actions"].push_back(fmt::format("no artifact {}", id.str()));
}

json base_params(const json& params, const std::string& id) {
  json p{{"directory", params["directory"]}, {"id", id}, {"branch", false}};
  if (params.contains("actor"))
    p["actor"] = params["actor"];
  return p;
}

void post_checkout(Context& ctx, const repo::Project& p, const json& params, json& out) {
  auto args = params.value("args", json::array());
  if (args.size() < 3 || args[2] != "1") {
    out["actions"].push_back("a file checkout; nothing to do");
    return;
  }
  auto branch = repo::current_branch(p);
  auto id = artifact::ArtifactId::parse(branch);
  if (!id) {
    out["actions"].push_back(fmt::format("branch '{}' is not named by an artifact", branch));
    return;
  }
  auto loaded = ctx.projects.open(p.root);
  const artifact::Artifact* a = loaded ? (*loaded)->index.find(*id) : nullptr;
  if (!a)
    return no_artifact(*id, out);
  auto state = lifecycle::state_name(*a);
  if (state != "ready") {
    out["actions"].push_back(fmt::format("{} is {}; not started", id->str(), state));
    return;
  }
  auto r = artifacts_start(ctx, base_params(params, id->str()));
  if (!r)
    out["warnings"].push_back(r.error().message);
  else
    out["actions"].push_back(fmt::format("started {}", id->str()));
}

void post_merge(Context& ctx, const repo::Project& p, const json& params, json& out) {
  auto subject = git_text(p, {"reflog", "-1", "--format=%gs"});
  if (!subject.starts_with("merge ")) {
    out["actions"].push_back("not a merge of a branch");
    return;
  }
  auto branch = subject.substr(6, subject.find(':') - 6);
  if (auto slash = branch.rfind('/'); slash != std::string::npos)
    branch = branch.substr(slash + 1); // origin/A.1.2
  auto id = artifact::ArtifactId::parse(branch);
  if (!id) {
    out["actions"].push_back(fmt::format("merged branch '{}' is not named by an artifact", branch));
    return;
  }
  if (!hook_policy(p, "post_merge_complete")) {
    out["actions"].push_back(fmt::format(
        "merged {}; completing it on merge is off (hooks: post_merge_complete: true)", id->str()));
    return;
  }
  auto loaded = ctx.projects.open(p.root);
  const artifact::Artifact* a = loaded ? (*loaded)->index.find(*id) : nullptr;
  if (!a)
    return no_artifact(*id, out);
  if (lifecycle::state_name(*a) == "in_progress") {
    if (auto r = artifacts_submit(ctx, base_params(params, id->str())); !r) {
      out["warnings"].push_back(r.error().message);
      return;
    }
  }
  if (auto r = artifacts_complete(ctx, base_params(params, id->str())); !r)
    out["warnings"].push_back(r.error().message);
  else
    out["actions"].push_back(fmt::format("completed {}", id->str()));
}

void pre_commit(const repo::Project& p, json& out) {
  auto staged = lines_of(git_text(
      p, {"diff", "--cached", "--name-only", "--diff-filter=ACMR", "--", ".kodebase/artifacts"}));
  if (staged.empty()) {
    out["actions"].push_back("no staged artifacts");
    return;
  }
  auto index = artifact::load_index(p.artifacts_dir());
  std::vector<artifact::ArtifactId> ids;
  artifact::ArtifactIndex checked;
  std::set<std::string> staged_paths;
  for (const auto& rel : staged) {
    auto path = p.root / rel;
    auto id = artifact::id_from_filename(path.filename().string());
    if (!id)
      continue;
    staged_paths.insert(path.string());
    ids.push_back(*id);
    // Validate what is staged, which may differ from the working tree.
    auto read = artifact::read_artifact_text(*id, path, git_text(p, {"show", ":" + rel}));
    if (auto* a = std::get_if<artifact::Artifact>(&read))
      checked.add(std::move(*a));
    else
      checked.add_problem(std::get<artifact::FileProblem>(std::move(read)));
  }
  for (const auto& [id, a] : index.all())
    if (!staged_paths.contains(a.path.string()))
      checked.add(a);
  auto report = validate::validate_index(checked, validate::Mode::lenient, ids);
  for (const auto& f : report.findings)
    if (f.severity == validate::Severity::error)
      out["findings"].push_back(finding_json(p, f));
  out["blocked"] = !out["findings"].empty();
  out["actions"].push_back(
      fmt::format("checked {} staged artifact file{}", ids.size(), ids.size() == 1 ? "" : "s"));
}

void pre_push(const repo::Project& p, const json& params, json& out) {
  bool to_default = false;
  for (const auto& line : lines_of(params.value("stdin", ""))) {
    auto parts = line.find(" refs/heads/main ") != std::string::npos ||
                 line.find(" refs/heads/master ") != std::string::npos;
    to_default |= parts;
  }
  if (!to_default) {
    out["actions"].push_back("not pushing to the default branch");
    return;
  }
  auto index = artifact::load_index(p.artifacts_dir());
  json drafts = json::array();
  for (const auto& [id, a] : index.all())
    if (lifecycle::state_name(a) == "draft")
      drafts.push_back(id.str());
  if (drafts.empty())
    return;
  bool block = hook_policy(p, "pre_push_block_drafts");
  out["warnings"].push_back(
      fmt::format("draft artifacts would reach the default branch: {}", drafts.dump()));
  out["blocked"] = block;
}

} // namespace

util::Result<json> hooks_run(Context& ctx, const json& params) {
  auto name = string_param(params, "name");
  if (!name)
    return name.error();
  auto p = project_param(params);
  if (!p)
    return p.error();
  json out{{"hook", *name},
           {"actions", json::array()},
           {"warnings", json::array()},
           {"findings", json::array()},
           {"blocked", false}};
  if (*name == "post-checkout")
    post_checkout(ctx, *p, params, out);
  else if (*name == "post-merge")
    post_merge(ctx, *p, params, out);
  else if (*name == "pre-commit")
    pre_commit(*p, out);
  else if (*name == "pre-push")
    pre_push(*p, params, out);
  else
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("unknown hook '{}' (expected post-checkout, post-merge, "
                                        "pre-commit or pre-push)",
                                        *name));
  return out;
}

} // namespace kb::api
