// `hooks run`: what each git hook does for the project. Hooks never fail git for an internal
// reason; only pre-commit (invalid staged artifacts) and pre-push (by policy) block on purpose.
#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/settings.hpp"
#include "core/artifact/yaml.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/util/text.hpp"
#include "core/validate/validator.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

namespace kb::api {

namespace {

std::string git_text(const repo::Project& p, std::vector<std::string> args) {
  return repo::git_output(p, std::move(args), false).value_or("");
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
  if (!setting_enabled(p, "hooks.post_merge_complete")) {
    out["actions"].push_back(fmt::format(
        "merged {}; completing it on merge is off (hooks: post_merge_complete: true)", id->str()));
    return;
  }
  auto loaded = ctx.projects.open(p.root);
  if (!loaded || !(*loaded)->index.find(*id))
    return no_artifact(*id, out);
  json asked = base_params(params, id->str());
  asked.erase("branch");
  auto r = complete_merged(ctx, asked);
  if (!r) {
    out["warnings"].push_back(r.error().message);
    return;
  }
  for (const auto& key : {"actions", "warnings"})
    for (const auto& line : (*r)[key])
      out[key].push_back(line);
}

// The staged artifact paths (as git has them, any bytes) and whether each is a symbolic link.
std::vector<std::pair<std::string, bool>> staged_files(const repo::Project& p) {
  // `--raw -z`: ":old-mode new-mode old-sha new-sha status" NUL path NUL, names unquoted;
  // `--no-renames`: a renamed file is a deletion and an addition, one path each.
  auto raw = git_text(p, {"diff", "--cached", "--raw", "-z", "--no-renames", "--diff-filter=ACM",
                          "--", ".kodebase/artifacts"});
  std::vector<std::pair<std::string, bool>> out;
  for (size_t pos = 0; pos < raw.size();) {
    auto meta_end = raw.find('\0', pos);
    auto path_end = meta_end == std::string::npos ? meta_end : raw.find('\0', meta_end + 1);
    if (path_end == std::string::npos)
      break;
    auto meta = raw.substr(pos, meta_end - pos);
    bool link = meta.size() > 14 && meta.compare(8, 6, "120000") == 0;
    out.emplace_back(raw.substr(meta_end + 1, path_end - meta_end - 1), link);
    pos = path_end + 1;
  }
  return out;
}

void pre_commit(const repo::Project& p, json& out) {
  auto staged = staged_files(p);
  if (staged.empty()) {
    out["actions"].push_back("no staged artifacts");
    return;
  }
  auto loaded = read_index(p);
  if (!loaded) {
    out["warnings"].push_back(loaded.error().message);
    out["blocked"] = true;
    return;
  }
  const auto& index = *loaded;
  std::vector<artifact::ArtifactId> ids;
  artifact::ArtifactIndex checked;
  std::set<std::string> staged_paths;
  for (const auto& [rel, link] : staged) {
    auto path = p.root / rel;
    auto id = artifact::id_from_filename(path.filename().string());
    if (!id)
      continue;
    staged_paths.insert(path.string());
    ids.push_back(*id);
    if (link) { // what it leads to is never read, in any clone
      checked.add_problem(artifact::FileProblem{
          path,
          *id,
          "UNSAFE_FILE",
          "a symbolic link is staged as an artifact file; commit the file itself",
          {}});
      continue;
    }
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
  bool strict = setting_enabled(p, "gitOps.validation.error_on_warnings");
  for (const auto& f : report.findings)
    if (f.severity == validate::Severity::error || strict)
      out["findings"].push_back(finding_json(p, f));
  out["blocked"] = !out["findings"].empty();
  out["actions"].push_back(
      fmt::format("checked {} staged artifact file{}", ids.size(), ids.size() == 1 ? "" : "s"));
}

// Git passes one line per ref pushed: `<local ref> <local sha> <remote ref> <remote sha>`. The
// commits going to the default branch are read from git's object store, so what is checked is
// what is pushed, not the work tree.
void pre_push(const repo::Project& p, const json& params, json& out) {
  auto main_branch =
      repo::default_branch(p, setting_value(p, "gitOps.branches.mainBranch").get<std::string>());
  std::vector<std::string> commits;
  for (const auto& line : util::lines_of(params.value("stdin", ""))) {
    std::vector<std::string> f;
    for (size_t pos = 0; pos <= line.size();) {
      auto sp = line.find(' ', pos);
      f.push_back(line.substr(pos, sp - pos));
      pos = sp == std::string::npos ? line.size() + 1 : sp + 1;
    }
    bool deletion = f.size() == 4 && f[1].find_first_not_of('0') == std::string::npos;
    if (f.size() == 4 && f[2] == "refs/heads/" + main_branch && !deletion)
      commits.push_back(f[1]);
  }
  if (commits.empty()) {
    out["actions"].push_back(fmt::format("not pushing to the default branch ({})", main_branch));
    return;
  }
  std::set<std::string> drafts;
  for (const auto& sha : commits) {
    auto files = repo::artifact_files_at(p, sha);
    if (!files) {
      out["warnings"].push_back(fmt::format("could not read {}: {}", sha, files.error().message));
      continue;
    }
    for (const auto& file : *files) {
      auto id = artifact::id_from_filename(file.path.filename().string());
      if (!id)
        continue;
      auto read = artifact::read_artifact_text(*id, file.path, file.text);
      if (auto* a = std::get_if<artifact::Artifact>(&read);
          a && lifecycle::state_name(*a) == "draft")
        drafts.insert(id->str());
    }
  }
  out["actions"].push_back(fmt::format("checked the artifacts pushed to {}", main_branch));
  if (drafts.empty())
    return;
  out["warnings"].push_back(
      fmt::format("draft artifacts would reach {}: {}", main_branch, fmt::join(drafts, ", ")));
  out["blocked"] = setting_enabled(p, "hooks.pre_push_block_drafts");
}

// After a checkout or merge brought other branches' files: IDs two branches both minted, and
// files left with conflict markers, each with the command that fixes it.
void report_collisions(Context& ctx, const repo::Project& p, json& out) {
  auto loaded = ctx.projects.open(p.root);
  if (!loaded)
    return;
  const auto& index = (*loaded)->index;
  for (const auto& d : index.duplicates()) {
    const auto* first = index.find(d.id);
    out["warnings"].push_back(
        fmt::format("{} is defined twice ({} and {}): run `kodebase renumber {} --file {}`",
                    d.id.str(), p.relative(first ? first->path : d.path), p.relative(d.path),
                    d.id.str(), p.relative(d.path)));
  }
  for (const auto& problem : index.problems())
    if (problem.code == "CONFLICT" && problem.id)
      out["warnings"].push_back(fmt::format("{} holds conflict markers: run `kodebase resolve {}`",
                                            p.relative(problem.path), problem.id->str()));
}

} // namespace

util::Result<json> hooks_run(Context& ctx, const json& params) {
  auto name = string_param(params, "name");
  KB_TRY(name);
  auto p = project_param(params);
  KB_TRY(p);
  json out{{"hook", *name},
           {"actions", json::array()},
           {"warnings", json::array()},
           {"findings", json::array()},
           {"blocked", false}};
  static const std::set<std::string> k_hooks = {"post-checkout", "post-merge", "pre-commit",
                                                "pre-push"};
  if (!k_hooks.contains(*name))
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("unknown hook '{}' (expected post-checkout, post-merge, "
                                        "pre-commit or pre-push)",
                                        *name));
  if (!setting_enabled(*p, "gitOps.hooks.enabled")) {
    out["actions"].push_back("kodebase's hooks are off (gitOps.hooks.enabled: false)");
    return out;
  }
  if (*name == "post-checkout")
    post_checkout(ctx, *p, params, out);
  else if (*name == "post-merge")
    post_merge(ctx, *p, params, out);
  if (*name == "post-checkout" || *name == "post-merge")
    report_collisions(ctx, *p, out);
  else if (*name == "pre-commit")
    pre_commit(*p, out);
  else
    pre_push(*p, params, out);
  return out;
}

} // namespace kb::api
