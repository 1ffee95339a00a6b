// The local half of the pull-request workflow: what the daemon needs to know of a project and an
// artifact before it asks GitHub, pushing a branch, and completing an artifact whose pull request
// was merged. The GitHub calls themselves go through the daemon's proxy.
#include "core/api/methods.hpp"
#include "core/api/settings.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/query/context_pack.hpp"
#include "core/repo/git.hpp"
#include "core/util/process.hpp"
#include "core/util/remote.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace kb::api {

namespace {

// The pull request the artifact's latest in_review event records, or null.
json recorded_pull(const artifact::Artifact& a) {
  for (auto it = a.events.rbegin(); it != a.events.rend(); ++it)
    if (it->event == "in_review" && it->metadata.is_object() &&
        it->metadata.value("pr_number", json()).is_number_integer())
      return it->metadata;
  return nullptr;
}

// The artifact files `git status` lists as changed, staged or new.
std::vector<std::string> dirty_artifact_files(const repo::Project& p) {
  std::vector<std::string> out;
  for (auto& line :
       util::lines_of(repo::git_output(p,
                                       {"status", "--porcelain", "--untracked-files=all", "--",
                                        p.artifacts_dir().string()},
                                       false)
                          .value_or("")))
    if (line.size() > 3)
      out.push_back(line.substr(3)); // "XY path"
  return out;
}

} // namespace

util::Result<json> pull_request_facts(Context& ctx, const json& params) {
  auto loaded = open_project(ctx, params);
  KB_TRY(loaded);
  const auto& p = (*loaded)->project;
  auto url = repo::git_output(p, {"remote", "get-url", "origin"}).value_or("");
  json out{
      {"root", p.root.string()},
      {"remote", url},
      {"repository", util::remote_repository(url)},
      {"host", util::remote_host(url)},
      {"mode", setting_value(p, "github.pull_requests")},
      {"default_branch",
       repo::default_branch(p, setting_value(p, "gitOps.branches.mainBranch").get<std::string>())},
      {"branch", repo::current_branch(p)},
      {"head", repo::git_output(p, {"rev-parse", "HEAD"}).value_or("")},
      {"dirty", dirty_artifact_files(p)}};
  if (!params.contains("id"))
    return out;
  auto a = artifact_param(**loaded, params);
  KB_TRY(a);
  out["id"] = (*a)->id.str();
  out["title"] = (*a)->title;
  out["type"] = std::string(artifact::to_string((*a)->type()));
  out["state"] = lifecycle::state_name(**a);
  out["recorded"] = recorded_pull(**a);
  if (params.value("context", false)) // the pull request's body
    out["context"] = query::context_pack((*loaded)->index, **a, query::ContextFormat::standard);
  return out;
}

util::Result<json> artifacts_in_review(Context& ctx, const json& params) {
  auto loaded = open_project(ctx, params);
  KB_TRY(loaded);
  const auto& p = (*loaded)->project;
  auto url = repo::git_output(p, {"remote", "get-url", "origin"}).value_or("");
  json list = json::array();
  for (const auto& [id, a] : (*loaded)->index.all())
    if (lifecycle::state_name(a) == "in_review")
      list.push_back({{"id", id.str()}, {"title", a.title}, {"recorded", recorded_pull(a)}});
  return json{{"root", p.root.string()},
              {"repository", util::remote_repository(url)},
              {"mode", setting_value(p, "github.pull_requests")},
              {"artifacts", std::move(list)}};
}

util::Result<json> push_branch(Context&, const json& params) {
  auto p = project_param(params);
  KB_TRY(p);
  auto branch = string_param(params, "branch");
  KB_TRY(branch);
  // No prompt can be answered here: git fails at once when it would need one, and a push that
  // hangs on the network is given up after two minutes.
  auto run = util::run_capture({"env", "GIT_TERMINAL_PROMPT=0",
                                "GIT_ASKPASS=", "SSH_ASKPASS=", "timeout", "120", "git", "-C",
                                p->root.string(), "push", "--porcelain", "--set-upstream", "origin",
                                fmt::format("refs/heads/{0}:refs/heads/{0}", *branch)},
                               true);
  KB_TRY(run);
  if (run->exit_code != 0) {
    auto text = run->out;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
      text.pop_back();
    return util::make_error(
        util::ErrorKind::failed,
        fmt::format("git push origin {} failed{}", *branch,
                    run->exit_code == 124 ? " (no answer in 2 minutes)" : ""),
        {{"output", text},
         {"hint", fmt::format("push it yourself (`git push -u origin {}`), check your "
                              "credentials, then run the command again",
                              *branch)}});
  }
  return json{{"pushed", *branch},
              {"head", repo::git_output(*p, {"rev-parse", *branch}).value_or("")}};
}

util::Result<json> keep_mergeable(Context&, const json& params) {
  auto p = project_param(params);
  KB_TRY(p);
  auto base =
      repo::default_branch(*p, setting_value(*p, "gitOps.branches.mainBranch").get<std::string>());
  auto git = [&](std::vector<std::string> args, bool network = false) {
    std::vector<std::string> cmd = {"env", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS="};
    if (network)
      cmd.insert(cmd.end(), {"timeout", "120"});
    cmd.insert(cmd.end(), {"git", "-C", p->root.string()});
    cmd.insert(cmd.end(), args.begin(), args.end());
    return util::run_capture(cmd, true);
  };
  // origin's default branch as of now, or as of the last fetch when origin cannot be reached.
  auto fetched =
      git({"fetch", "-q", "origin", fmt::format("+refs/heads/{0}:refs/remotes/origin/{0}", base)},
          true);
  auto against = "refs/remotes/origin/" + base;
  auto known = git({"rev-parse", "-q", "--verify", against + "^{commit}"});
  if (!known || known->exit_code != 0)
    return json{{"mergeable", nullptr},
                {"hint", fmt::format("cannot fetch origin/{} to check the merge", base)}};
  bool fresh = fetched && fetched->exit_code == 0;
  // The branch checked out, or another one named (checked only: a merge needs its work tree).
  auto current = repo::current_branch(*p);
  std::string branch = current, head = "HEAD";
  if (params.contains("branch") && params["branch"].is_string() &&
      params["branch"].get<std::string>() != current) {
    branch = params["branch"].get<std::string>();
    head = "refs/heads/" + branch;
    auto exists = git({"rev-parse", "-q", "--verify", head + "^{commit}"});
    if (!exists || exists->exit_code != 0)
      return json{{"mergeable", nullptr},
                  {"branch", branch},
                  {"hint", fmt::format("there is no local branch {} to check", branch)}};
  }
  bool checked_out = head == "HEAD";
  // What GitHub's button would do: git's merge of lines, with no driver.
  auto tree = git({"-c", "merge.kodebase.driver=git merge-file %A %O %B", "merge-tree",
                   "--write-tree", "--name-only", "--no-messages", head, against});
  KB_TRY(tree);
  json out{{"mergeable", true}, {"merged", false},  {"conflicts", json::array()},
           {"base", base},      {"branch", branch}, {"fetched", fresh}};
  if (tree->exit_code == 0)
    return out;
  // The tree's ID, then one conflicted path per line.
  auto lines = util::lines_of(tree->out);
  std::vector<std::string> conflicts;
  for (std::size_t i = 1; i < lines.size(); ++i)
    if (!lines[i].empty())
      conflicts.push_back(lines[i]);
  bool artifacts_only =
      !conflicts.empty() && std::all_of(conflicts.begin(), conflicts.end(), [](const auto& f) {
        return f.starts_with(".kodebase/artifacts/") && f.ends_with(".yml");
      });
  out["mergeable"] = false;
  out["conflicts"] = conflicts;
  if (tree->exit_code != 1 || !artifacts_only) {
    out["hint"] = fmt::format("the branch conflicts with {} outside the artifact files: `git merge "
                              "origin/{}`, resolve, push",
                              base, base);
    return out;
  }
  if (!checked_out) {
    out["hint"] = fmt::format("`git switch {}`, then `kodebase sync` merges origin/{} in with the "
                              "driver and pushes",
                              branch, base);
    return out;
  }
  // Only artifact files: the driver merges them (without hooks: kodebase's post-merge hook
  // would ask this daemon, whose lane runs this), and the branch then merges with a click. A
  // merge needs a clean work tree; the user's uncommitted changes are never touched.
  auto status = git({"status", "--porcelain", "--untracked-files=no"});
  if (!status || status->exit_code != 0 || !status->out.empty()) {
    out["hint"] = fmt::format("commit your changes, then `git merge origin/{}` and push", base);
    return out;
  }
  auto merged =
      git({"-c", "core.hooksPath=/dev/null", "merge", "--no-edit", "-m",
           fmt::format("Merge {} into this branch (artifact files, kodebase)", base), against});
  if (!merged || merged->exit_code != 0) {
    (void)git({"merge", "--abort"});
    out["hint"] =
        fmt::format("`git merge origin/{}`, then `kodebase resolve --all` and push", base);
    return out;
  }
  out["mergeable"] = true;
  out["merged"] = true;
  return out;
}

void settle_merge_changes(const repo::Project& p, const json& files, const std::string& what,
                          json& out) {
  if (files.empty())
    return;
  std::vector<std::filesystem::path> paths;
  std::vector<std::string> args{"add", "--"};
  for (const auto& f : files) {
    paths.push_back(p.root / f.get<std::string>());
    args.push_back(paths.back().string());
  }
  auto strategy = setting_value(p, "gitOps.post_merge.strategy").get<std::string>();
  auto main =
      repo::default_branch(p, setting_value(p, "gitOps.branches.mainBranch").get<std::string>());
  auto branch = repo::current_branch(p);
  if (strategy == "direct_commit" && branch == main) {
    auto message =
        setting_value(p, "gitOps.post_merge.direct_commit.commit_prefix").get<std::string>() + what;
    auto name = repo::git_output(p, {"config", "user.name"}).value_or("");
    auto email = repo::git_output(p, {"config", "user.email"}).value_or("");
    if (auto st = repo::commit_paths(p, paths, message, name.empty() ? "kodebase" : name,
                                     email.empty() ? "kodebase@localhost" : email);
        !st)
      out["warnings"].push_back("could not commit the artifact changes: " + st.error().message);
    else
      out["actions"].push_back(fmt::format("committed \"{}\" on {}", message, branch));
    return;
  }
  if (!repo::git_output(p, args)) {
    out["warnings"].push_back("could not stage the artifact changes; commit them yourself");
    return;
  }
  out["actions"].push_back(
      strategy == "direct_commit"
          ? fmt::format("staged the artifact changes on {} (they are committed directly only on "
                        "the default branch, {}); commit them",
                        branch.empty() ? "a detached HEAD" : branch, main)
          : fmt::format("staged the artifact changes (gitOps.post_merge.strategy: {}); commit "
                        "them, or set the strategy to direct_commit",
                        strategy));
}

util::Result<json> complete_merged(Context& ctx, const json& params) {
  auto loaded = open_project(ctx, params);
  KB_TRY(loaded);
  auto a = artifact_param(**loaded, params);
  KB_TRY(a);
  auto id = (*a)->id.str();
  auto state = lifecycle::state_name(**a);
  auto p = (*loaded)->project;
  json out{{"id", id},
           {"completed", false},
           {"state", state},
           {"actions", json::array()},
           {"warnings", json::array()}};
  if (state != "in_progress" && state != "in_review") {
    out["actions"].push_back(fmt::format("{} is {}; nothing to do", id, state));
    return out;
  }
  json base{{"directory", p.root.string()}, {"id", id}, {"actor", params.value("actor", "")}};
  if (base["actor"] == "")
    base.erase("actor");
  json files = json::array();
  if (state == "in_progress") {
    auto submitted = artifacts_submit(ctx, base);
    KB_TRY(submitted);
    files = (*submitted)["files"];
  }
  json complete = base;
  if ((*a)->type() == artifact::ArtifactType::issue && !(*a)->implementation_notes) {
    auto number = params.value("number", 0LL);
    auto title = params.value("title", "");
    complete["completion"] = {{"result", number > 0
                                             ? fmt::format("Merged in pull request #{}{}", number,
                                                           title.empty() ? "" : ": " + title)
                                             : "Merged"}};
  }
  auto done = artifacts_complete(ctx, complete);
  KB_TRY(done);
  for (const auto& f : (*done)["files"])
    if (std::find(files.begin(), files.end(), f) == files.end())
      files.push_back(f);
  out["completed"] = true;
  out["state"] = "completed";
  out["events"] = (*done)["events"];
  out["files"] = files;
  out["actions"].push_back(fmt::format("completed {}", id));
  settle_merge_changes(p, files, fmt::format("complete {} (merged)", id), out);
  return out;
}

} // namespace kb::api
