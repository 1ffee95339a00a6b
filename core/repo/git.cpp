#include "core/repo/git.hpp"

#include "core/util/process.hpp"

#include <fmt/format.h>
#include <git2.h>
#include <memory>

namespace kb::repo {

namespace {

// libgit2 is initialised once per process and stays so.
void ensure_libgit2() {
  static const int once = git_libgit2_init();
  (void)once;
}

template <typename T, void (*Free)(T*)> struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)> using Handle = std::unique_ptr<T, Deleter<T, Free>>;
using Repo = Handle<git_repository, git_repository_free>;
using Ref = Handle<git_reference, git_reference_free>;
using Commit = Handle<git_commit, git_commit_free>;
using Object = Handle<git_object, git_object_free>;
using Index = Handle<git_index, git_index_free>;
using Tree = Handle<git_tree, git_tree_free>;
using Signature = Handle<git_signature, git_signature_free>;

util::Error libgit2_error(std::string what, util::ErrorKind kind = util::ErrorKind::io) {
  const ::git_error* e = git_error_last();
  return util::make_error(
      kind, fmt::format("{}: {}", what, e && e->message ? e->message : "unknown git error"));
}

util::Result<Repo> open_repo(const Project& project, bool& found) {
  ensure_libgit2();
  git_repository* raw = nullptr;
  int rc = git_repository_open_ext(&raw, project.root.c_str(), 0, nullptr);
  found = rc == 0;
  if (rc == GIT_ENOTFOUND)
    return Repo(nullptr);
  if (rc != 0)
    return libgit2_error(
        fmt::format("cannot open the git repository of {}", project.root.string()));
  return Repo(raw);
}

} // namespace

std::optional<std::string> git_output(const Project& project, std::vector<std::string> args,
                                      bool trim) {
  args.insert(args.begin(), {"git", "-C", project.root.string()});
  auto r = util::run_capture(args);
  if (!r || r->exit_code != 0)
    return std::nullopt;
  while (trim && !r->out.empty() && r->out.back() == '\n')
    r->out.pop_back();
  return std::move(r->out);
}

std::string current_branch(const Project& project) {
  bool found = false;
  auto repo = open_repo(project, found);
  if (!repo || !found)
    return {};
  git_reference* head = nullptr;
  if (git_repository_head(&head, repo->get()) != 0)
    return {};
  Ref guard(head);
  return git_reference_is_branch(head) ? git_reference_shorthand(head) : "";
}

HeadState head_state(const Project& project) {
  HeadState out;
  bool found = false;
  auto repo = open_repo(project, found);
  if (!repo || !found)
    return out;
  out.git_dir = git_repository_path(repo->get());
  git_reference* head = nullptr;
  if (git_repository_head(&head, repo->get()) == 0) {
    Ref guard(head);
    if (git_reference_is_branch(head))
      out.branch = git_reference_shorthand(head);
    if (const git_oid* oid = git_reference_target(head)) {
      char hex[GIT_OID_HEXSZ + 1];
      git_oid_tostr(hex, sizeof hex, oid);
      out.commit = hex;
    }
  } else if (git_reference* unborn = nullptr;
             git_reference_lookup(&unborn, repo->get(), "HEAD") == 0) {
    Ref guard(unborn);
    if (const char* target = git_reference_symbolic_target(unborn);
        target && std::string_view(target).starts_with("refs/heads/"))
      out.branch = std::string(target).substr(11);
  }
  return out;
}

std::string default_branch(const Project& project, const std::string& setting) {
  if (!setting.empty())
    return setting;
  bool found = false;
  auto repo = open_repo(project, found);
  if (!repo || !found)
    return "main";
  git_reference* ref = nullptr;
  if (git_reference_lookup(&ref, repo->get(), "refs/remotes/origin/HEAD") == 0) {
    Ref guard(ref);
    if (const char* target = git_reference_symbolic_target(ref)) {
      std::string_view t = target;
      if (t.starts_with("refs/remotes/origin/"))
        return std::string(t.substr(20));
    }
  }
  for (const char* name : {"main", "master"}) {
    git_reference* branch = nullptr;
    if (git_branch_lookup(&branch, repo->get(), name, GIT_BRANCH_LOCAL) == 0) {
      git_reference_free(branch);
      return name;
    }
  }
  return "main";
}

namespace {

// The repository holding the project, which must have a work tree; `top` is set to it.
util::Result<Repo> open_work_tree(const Project& project, std::filesystem::path& top) {
  bool found = false;
  auto repo = open_repo(project, found);
  KB_TRY(repo);
  if (!found)
    return util::make_error(util::ErrorKind::not_project, "the project is not in a git repository");
  const char* workdir = git_repository_workdir(repo->get());
  if (!workdir)
    return util::make_error(util::ErrorKind::failed, "the repository has no work tree");
  top = workdir;
  return repo;
}

// The tree of commit `rev` (a sha or ref).
util::Result<Object> tree_at(git_repository* repo, const std::string& rev) {
  git_object* raw = nullptr;
  if (git_revparse_single(&raw, repo, (rev + "^{tree}").c_str()) != 0)
    return libgit2_error(fmt::format("cannot read commit {}", rev), util::ErrorKind::not_found);
  return Object(raw);
}

std::string blob_text(const git_blob* blob) {
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                     static_cast<size_t>(git_blob_rawsize(blob)));
}

} // namespace

util::Result<std::vector<FileAtCommit>> artifact_files_at(const Project& project,
                                                          const std::string& rev) {
  std::filesystem::path top;
  auto repo = open_work_tree(project, top);
  KB_TRY(repo);
  auto dir = project.artifacts_dir().lexically_relative(top).generic_string();
  auto tree_object = tree_at(repo->get(), rev);
  KB_TRY(tree_object);
  auto* root = reinterpret_cast<git_tree*>(tree_object->get());
  git_tree_entry* dir_entry = nullptr;
  if (git_tree_entry_bypath(&dir_entry, root, dir.c_str()) != 0)
    return std::vector<FileAtCommit>{}; // no artifacts in that commit
  git_object* sub = nullptr;
  int rc = git_tree_entry_to_object(&sub, repo->get(), dir_entry);
  git_tree_entry_free(dir_entry);
  if (rc != 0)
    return libgit2_error("cannot read the artifacts folder");
  Object sub_object(sub);
  struct Walk {
    git_repository* repo;
    std::filesystem::path base;
    std::vector<FileAtCommit> files;
  } walk{repo->get(), project.artifacts_dir(), {}};
  auto visit = [](const char* parent, const git_tree_entry* entry, void* payload) -> int {
    auto& w = *static_cast<Walk*>(payload);
    std::string_view name = git_tree_entry_name(entry);
    if (name.starts_with("."))
      return 1; // dot-entries are skipped, as discovery does (1 = do not descend)
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB || !name.ends_with(".yml"))
      return 0;
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, w.repo, git_tree_entry_id(entry)) != 0)
      return 0;
    w.files.push_back({w.base / parent / std::string(name), blob_text(blob)});
    git_blob_free(blob);
    return 0;
  };
  if (git_tree_walk(reinterpret_cast<git_tree*>(sub), GIT_TREEWALK_PRE, visit, &walk) != 0)
    return libgit2_error("cannot walk the artifacts folder");
  return std::move(walk.files);
}

util::Result<std::vector<FileChange>>
artifact_changes_between(const Project& project, const std::string& from, const std::string& to) {
  std::filesystem::path top;
  auto repo = open_work_tree(project, top);
  KB_TRY(repo);
  auto old_tree = tree_at(repo->get(), from);
  KB_TRY(old_tree);
  auto new_tree = tree_at(repo->get(), to);
  KB_TRY(new_tree);
  std::string dir = project.artifacts_dir().lexically_relative(top).generic_string() + "/";
  char* spec[] = {dir.data()};
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.pathspec = {spec, 1};
  options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH; // a folder prefix, not a pattern
  git_diff* raw_diff = nullptr;
  if (git_diff_tree_to_tree(&raw_diff, repo->get(), reinterpret_cast<git_tree*>(old_tree->get()),
                            reinterpret_cast<git_tree*>(new_tree->get()), &options) != 0)
    return libgit2_error("cannot compare the artifacts of two commits");
  Handle<git_diff, git_diff_free> diff(raw_diff);
  git_diff_find_options similar = GIT_DIFF_FIND_OPTIONS_INIT;
  similar.flags = GIT_DIFF_FIND_RENAMES;
  if (git_diff_find_similar(diff.get(), &similar) != 0)
    return libgit2_error("cannot find renamed artifacts");
  auto is_artifact = [&](const char* path) {
    std::string_view p = path ? path : "";
    auto name = p.substr(p.rfind('/') + 1);
    return p.starts_with(dir) && name.ends_with(".yml") && !name.starts_with(".");
  };
  // Paths as discovery gives them: under the project's own spelling of its artifacts folder.
  auto absolute = [&](const char* path) {
    return project.artifacts_dir() / std::string_view(path).substr(dir.size());
  };
  std::vector<FileChange> out;
  for (size_t i = 0, n = git_diff_num_deltas(diff.get()); i < n; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    FileChange change;
    if (d->status != GIT_DELTA_ADDED && is_artifact(d->old_file.path)) {
      change.old_path = absolute(d->old_file.path);
      git_blob* blob = nullptr;
      if (git_blob_lookup(&blob, repo->get(), &d->old_file.id) == 0) {
        change.old_text = blob_text(blob);
        git_blob_free(blob);
      }
    }
    if (d->status != GIT_DELTA_DELETED && is_artifact(d->new_file.path))
      change.new_path = absolute(d->new_file.path);
    if (!change.old_path.empty() || !change.new_path.empty())
      out.push_back(std::move(change));
  }
  return out;
}

util::Result<BranchOutcome> switch_to_branch(const Project& project, const std::string& name) {
  bool found = false;
  auto repo = open_repo(project, found);
  KB_TRY(repo);
  BranchOutcome out;
  out.branch = name;
  if (!found)
    return out;
  out.in_git = true;
  out.previous = current_branch(project);
  if (out.previous == name)
    return out;
  if (git_repository_head_unborn(repo->get()) == 1) {
    out.skipped = "the repository has no commit yet";
    return out;
  }
  git_reference* raw_branch = nullptr;
  int rc = git_branch_lookup(&raw_branch, repo->get(), name.c_str(), GIT_BRANCH_LOCAL);
  Ref branch(raw_branch);
  if (rc == GIT_ENOTFOUND) {
    git_object* raw_head = nullptr;
    if (git_revparse_single(&raw_head, repo->get(), "HEAD^{commit}") != 0)
      return libgit2_error("cannot create a branch: the repository has no commit yet",
                           util::ErrorKind::failed);
    Object head(raw_head);
    if (git_branch_create(&raw_branch, repo->get(), name.c_str(),
                          reinterpret_cast<git_commit*>(head.get()), 0) != 0)
      return libgit2_error(fmt::format("cannot create branch {}", name));
    branch.reset(raw_branch);
    out.created = true;
  } else if (rc != 0) {
    return libgit2_error(fmt::format("cannot look up branch {}", name));
  }
  // Check the branch's tree out safely first: git refuses to overwrite local changes.
  git_object* raw_target = nullptr;
  if (git_reference_peel(&raw_target, branch.get(), GIT_OBJECT_COMMIT) != 0)
    return libgit2_error(fmt::format("cannot read branch {}", name));
  Object target(raw_target);
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_SAFE;
  if (git_checkout_tree(repo->get(), target.get(), &opts) != 0) {
    auto e = libgit2_error(
        fmt::format("cannot switch to branch {}: local changes conflict with it", name),
        util::ErrorKind::failed);
    e.details = {{"hint", "commit or stash your changes, then try again"}};
    if (out.created) {
      git_branch_delete(branch.get());
    }
    return e;
  }
  if (git_repository_set_head(repo->get(), git_reference_name(branch.get())) != 0)
    return libgit2_error(fmt::format("cannot point HEAD at {}", name));
  out.switched = true;
  return out;
}

util::Status commit_paths(const Project& project, const std::vector<std::filesystem::path>& paths,
                          const std::string& message, const std::string& author_name,
                          const std::string& author_email) {
  bool found = false;
  auto repo = open_repo(project, found);
  KB_TRY(repo);
  if (!found)
    return util::make_error(util::ErrorKind::failed, "cannot commit: the project is not in git");
  std::filesystem::path workdir = git_repository_workdir(repo->get());
  auto base = std::filesystem::weakly_canonical(workdir);
  std::vector<std::string> rels;
  for (const auto& p : paths)
    rels.push_back(std::filesystem::weakly_canonical(p).lexically_relative(base).string());
  // The commit's tree is HEAD's with only these files changed, built in an index of its own:
  // whatever else the user has staged stays staged, and out of the commit.
  git_object* raw_parent = nullptr;
  Object parent;
  if (git_revparse_single(&raw_parent, repo->get(), "HEAD^{commit}") == 0)
    parent.reset(raw_parent);
  git_index* raw_own = nullptr;
  if (git_index_new(&raw_own) != 0)
    return libgit2_error("cannot make an index for the commit");
  Index own(raw_own);
  if (parent) {
    git_tree* raw_head_tree = nullptr;
    if (git_commit_tree(&raw_head_tree, reinterpret_cast<git_commit*>(parent.get())) != 0)
      return libgit2_error("cannot read HEAD's tree");
    Tree head_tree(raw_head_tree);
    if (git_index_read_tree(own.get(), head_tree.get()) != 0)
      return libgit2_error("cannot read HEAD's tree");
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(paths[i], ec))) {
      (void)git_index_remove_bypath(own.get(), rels[i].c_str());
      continue;
    }
    git_oid blob;
    if (git_blob_create_from_disk(&blob, repo->get(), paths[i].c_str()) != 0)
      return libgit2_error(fmt::format("cannot store {}", rels[i]));
    git_index_entry entry{};
    entry.mode = GIT_FILEMODE_BLOB;
    entry.id = blob;
    entry.path = rels[i].c_str();
    if (git_index_add(own.get(), &entry) != 0)
      return libgit2_error(fmt::format("cannot stage {}", rels[i]));
  }
  git_oid tree_id, commit_id;
  if (git_index_write_tree_to(&tree_id, own.get(), repo->get()) != 0)
    return libgit2_error("cannot write the commit's tree");
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo->get(), &tree_id) != 0)
    return libgit2_error("cannot read the new tree");
  Tree tree(raw_tree);
  git_signature* raw_sig = nullptr;
  if (git_signature_now(&raw_sig, author_name.c_str(), author_email.c_str()) != 0)
    return libgit2_error("cannot make a commit signature");
  Signature sig(raw_sig);
  const git_commit* parents[] = {reinterpret_cast<const git_commit*>(parent.get())};
  if (git_commit_create(&commit_id, repo->get(), "HEAD", sig.get(), sig.get(), nullptr,
                        message.c_str(), tree.get(), parent ? 1 : 0, parents) != 0)
    return libgit2_error("cannot create the commit");
  // The user's index learns these files as committed; its other entries are left as they are.
  git_index* raw_index = nullptr;
  if (git_repository_index(&raw_index, repo->get()) != 0)
    return libgit2_error("cannot read the git index");
  Index index(raw_index);
  for (size_t i = 0; i < paths.size(); ++i) {
    std::error_code ec;
    int rc = std::filesystem::exists(std::filesystem::symlink_status(paths[i], ec))
                 ? git_index_add_bypath(index.get(), rels[i].c_str())
                 : git_index_remove_bypath(index.get(), rels[i].c_str());
    if (rc != 0)
      return libgit2_error(fmt::format("cannot update the git index for {}", rels[i]));
  }
  if (git_index_write(index.get()) != 0)
    return libgit2_error("cannot write the git index");
  return util::ok_status();
}

} // namespace kb::repo
