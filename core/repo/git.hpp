#pragma once

#include "core/repo/project.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kb::repo {

// What happened to the branch when an artifact was started.
struct BranchOutcome {
  bool in_git = false;   // false when the project is not in a git repository
  bool created = false;  // a new branch was made from HEAD
  bool switched = false; // HEAD now points at the branch
  std::string branch;
  std::string previous; // the branch HEAD pointed at before
  std::string skipped;  // why no branch was made, when in git but nothing was done
};

// Creates (from HEAD) or switches to the local branch `name` in the repository holding the
// project, like `git switch [-c]`: uncommitted changes that do not conflict are carried over;
// conflicting ones make it fail with kind `failed` and change nothing. A project outside git
// gives in_git = false.
util::Result<BranchOutcome> switch_to_branch(const Project& project, const std::string& name);

// What `git -C <root> <args>` printed, or nullopt when git failed or is missing. With
// `trim`, trailing newlines are dropped.
std::optional<std::string> git_output(const Project& project, std::vector<std::string> args,
                                      bool trim = true);

// The current branch name ("" when detached or not in git).
std::string current_branch(const Project& project);

// Where HEAD is: its branch ("" when detached) and commit ("" before the first commit), and
// the git directory ("" when the project is not in git).
struct HeadState {
  std::string branch;
  std::string commit;
  std::filesystem::path git_dir;
  bool operator==(const HeadState&) const = default;
};
HeadState head_state(const Project& project);

// The branch work lands on: `setting` when not empty, else what origin's HEAD points at, else
// `main` or `master` (whichever exists locally), else "main".
std::string default_branch(const Project& project, const std::string& setting);

// One file as it is in a commit.
struct FileAtCommit {
  std::filesystem::path path; // absolute, as if checked out
  std::string text;
};

// The `.yml` files under the project's artifacts folder in commit `rev` (a sha or ref), read
// from git's object store without touching the work tree.
util::Result<std::vector<FileAtCommit>> artifact_files_at(const Project& project,
                                                          const std::string& rev);

// One artifact file that differs between two commits: where it was and what it held (empty
// path when it was added), and where it is now (empty when it was deleted). A file moved or
// renamed with its content mostly kept is one change with both paths.
struct FileChange {
  std::filesystem::path old_path; // absolute, as if checked out
  std::string old_text;
  std::filesystem::path new_path;
};

// The `.yml` files under the artifacts folder that differ from commit `from` to commit `to`
// (shas or refs): a tree-to-tree diff of that folder alone, with rename detection, so a branch
// switch or merge costs the files it touched rather than every artifact.
util::Result<std::vector<FileChange>>
artifact_changes_between(const Project& project, const std::string& from, const std::string& to);

// Commits `paths` (absolute, inside the work tree; a missing one is a deletion) on the current
// branch with `message`, as `author_name <author_email>`. The commit holds HEAD's tree with
// only these files changed: other staged or unstaged changes stay where they were, out of it.
util::Status commit_paths(const Project& project, const std::vector<std::filesystem::path>& paths,
                          const std::string& message, const std::string& author_name,
                          const std::string& author_email);

} // namespace kb::repo
