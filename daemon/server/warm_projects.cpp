#include "daemon/server/warm_projects.hpp"

#include "core/api/settings.hpp"
#include "core/artifact/layout.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/protocol/methods.hpp"
#include "core/protocol/runtime.hpp"
#include "core/repo/lock.hpp"
#include "core/util/fd.hpp"
#include "core/util/file.hpp"
#include "core/util/json.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kb::daemon::server {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t k_dir_events = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                  IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// HEAD is replaced by rename (checkout); its reflog grows on every move (commit, merge, reset).
constexpr uint32_t k_git_events = IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE;

// Why HEAD moved, from the subject of its newest reflog entry.
std::string head_cause(const repo::Project& p) {
  auto subject = repo::git_output(p, {"reflog", "-1", "--format=%gs"}).value_or("");
  for (std::string_view kind :
       {"checkout", "merge", "pull", "rebase", "reset", "commit", "cherry-pick", "revert"})
    if (subject.starts_with(kind))
      return std::string(kind == "pull" ? "merge" : kind);
  return "git";
}

// Where HEAD of each project was when the daemon last looked, kept across restarts in
// $XDG_STATE_HOME/kodebase/heads.json, so a new daemon reports what commits brought meanwhile.
fs::path heads_file() {
  return protocol::state_dir() / "heads.json";
}

json read_heads() {
  auto text = util::read_file(heads_file());
  json heads = text ? util::parse_json_bounded(*text) : json::object();
  return heads.is_object() ? heads : json::object();
}

std::string remembered_head(const fs::path& root) {
  auto heads = read_heads();
  auto it = heads.find(root.string());
  return it != heads.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void remember_head(const fs::path& root, const std::string& commit) {
  if (commit.empty())
    return;
  static std::mutex file; // projects are served concurrently; the file is shared
  std::lock_guard lock(file);
  auto heads = read_heads();
  if (heads.value(root.string(), "") == commit)
    return;
  heads[root.string()] = commit;
  std::error_code ec;
  util::create_private_directories(heads_file().parent_path());
  (void)util::write_file_atomic(heads_file(), heads.dump(2) + "\n", 0600);
}

} // namespace

// What a subscriber is told about one artifact, before and after a change.
struct WarmProjects::Seen {
  std::string state, title, path;
  size_t events = 0;
  uint64_t fields = 0; // a hash of the other fields an edit may change (0: not known)

  bool operator==(const Seen& o) const {
    return state == o.state && title == o.title && path == o.path && events == o.events &&
           (fields == o.fields || !fields || !o.fields);
  }

  static Seen of(const artifact::Artifact& a) {
    uint64_t hash = util::k_fnv1a_basis; // with a separator after each value
    auto mix = [&](std::string_view s) { hash = util::fnv1a("\x1f", util::fnv1a(s, hash)); };
    for (const auto* s : {&a.priority, &a.estimation, &a.assignee, &a.summary, &a.vision})
      mix(*s);
    for (const auto* list :
         {&a.blocks, &a.blocked_by, &a.acceptance_criteria, &a.deliverables, &a.validation,
          &a.scope_in, &a.scope_out, &a.success_criteria, &a.notes}) {
      for (const auto& s : *list)
        mix(s);
      mix("\x1e");
    }
    return {lifecycle::state_name(a), a.title, a.path.string(), a.events.size(), hash | 1};
  }
};

namespace {

// The snapshot of what subscribers of a project were told, kept while no daemon watches it:
// $XDG_STATE_HOME/kodebase/projects/<hash of the root>.json.
fs::path snapshot_file(const fs::path& root) {
  return protocol::state_dir() / "projects" /
         fmt::format("{:016x}.json", util::fnv1a(root.string()));
}

// What stat says of a file: any write, rename or replacement changes it.
struct FileSig {
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileSig&) const = default;

  static FileSig of(const struct stat& st) {
    return {st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec,
            st.st_ctim.tv_sec * 1'000'000'000ll + st.st_ctim.tv_nsec};
  }
  static FileSig of(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? of(st) : FileSig{};
  }
};

// Checked on every request: a commit, checkout, merge, reset or stage moves HEAD, its reflog or
// the index, and an atomic write (kodebase's, most editors') changes the artifacts folder or
// one of its subfolders. Cheap: four stat calls.
struct Fingerprint {
  FileSig head, reflog, index, artifacts;
  bool operator==(const Fingerprint&) const = default;
  bool same_head(const Fingerprint& o) const { return head == o.head && reflog == o.reflog; }
};

// Every `.yml` file below `dir` with its stat data (what a link leads to, for links): dot-entries
// are skipped and links never followed into folders, like discovery.
void scan(int parent, const char* name, const fs::path& dir, std::map<fs::path, FileSig>& out) {
  DIR* d = util::open_directory_at(parent, name);
  if (!d)
    return;
  int fd = ::dirfd(d);
  while (dirent* ent = ::readdir(d)) {
    if (ent->d_name[0] == '.')
      continue;
    struct stat st {};
    if (::fstatat(fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    bool yml = std::string_view(ent->d_name).ends_with(".yml");
    if (S_ISDIR(st.st_mode))
      scan(fd, ent->d_name, dir / ent->d_name, out); // links are never followed into folders
    else if (yml && S_ISLNK(st.st_mode) && ::fstatat(fd, ent->d_name, &st, 0) != 0)
      out.emplace(dir / ent->d_name, FileSig{}); // a link to nothing
    else if (yml)
      out.emplace(dir / ent->d_name, FileSig::of(st)); // a file, or what a link leads to
  }
  ::closedir(d);
}

std::map<fs::path, FileSig> scan(const fs::path& artifacts_dir) {
  std::map<fs::path, FileSig> out;
  scan(AT_FDCWD, artifacts_dir.c_str(), artifacts_dir, out);
  return out;
}

} // namespace

struct WarmProjects::Entry {
  repo::Project project;
  std::shared_ptr<api::LoadedProject> loaded;
  Watch watch = Watch::inotify;
  int inotify = -1;
  std::map<int, fs::path> watches;   // watch descriptor → artifacts directory
  std::set<int> git_watches;         // descriptors of the git directory and its logs
  std::map<fs::path, FileSig> files; // when polling: what the files were at the last look
  Fingerprint fingerprint;
  bool head_moved = false;
  repo::HeadState head;
  std::string cause;                     // of the next changes, when the daemon made them
  std::set<std::string> duplicates_told; // "ID\npath" of each duplicate subscribers were told of
  long long loads = 0, updates = 0;
  Clock::time_point last_used;
  // settling of queued events (see poll)
  int queued = 0;
  Clock::time_point first_event, last_event, last_scan;
  Info published; // under WarmProjects::m_mutex

  ~Entry() {
    if (inotify >= 0)
      ::close(inotify);
  }
};

void WarmProjects::save_snapshot(const Entry& e) const {
  json artifacts = json::object();
  for (const auto& [id, a] : e.loaded->index.all()) {
    Seen s = Seen::of(a);
    artifacts[id.str()] = {s.state, s.title, e.project.relative(a.path), s.events, s.fields};
  }
  auto file = snapshot_file(e.project.root);
  std::error_code ec;
  util::create_private_directories(file.parent_path());
  (void)util::write_file_atomic(
      file,
      util::json_text(json{{"root", e.project.root.string()}, {"artifacts", artifacts}}) + "\n",
      0600);
}

std::optional<std::map<std::string, WarmProjects::Seen>>
WarmProjects::take_snapshot(const repo::Project& project) {
  auto file = snapshot_file(project.root);
  auto text = util::read_file(file);
  if (!text)
    return std::nullopt;
  std::error_code ec;
  fs::remove(file, ec); // used once: a daemon killed later must not replay it
  auto doc = util::parse_json_bounded(*text);
  if (!doc.is_object() || doc.value("root", "") != project.root.string() ||
      !doc["artifacts"].is_object())
    return std::nullopt;
  std::map<std::string, Seen> out;
  for (const auto& [id, v] : doc["artifacts"].items())
    if (v.is_array() && v.size() >= 4 && v[0].is_string() && v[1].is_string() && v[2].is_string() &&
        v[3].is_number_unsigned())
      out[id] = {v[0].get<std::string>(), v[1].get<std::string>(),
                 (project.root / v[2].get<std::string>()).lexically_normal().string(),
                 v[3].get<size_t>(),
                 v.size() > 4 && v[4].is_number_unsigned() ? v[4].get<uint64_t>() : 0};
  return out;
}

namespace {

Fingerprint fingerprint(const repo::Project& project, const fs::path& git_dir) {
  Fingerprint f;
  if (!git_dir.empty()) {
    f.head = FileSig::of(git_dir / "HEAD");
    f.reflog = FileSig::of(git_dir / "logs" / "HEAD");
    f.index = FileSig::of(git_dir / "index");
  }
  f.artifacts = FileSig::of(project.artifacts_dir());
  return f;
}

} // namespace

// The changed artifact files a refresh reads again, or `full` when all must be read.
struct WarmProjects::Changes {
  std::set<fs::path> files;
  bool full = false;
  bool events = false; // inotify reported anything at all
};

WarmProjects::WarmProjects(Watch watch, std::chrono::seconds ttl, std::chrono::milliseconds settle)
    : m_watch(watch), m_ttl(ttl), m_settle(settle) {}
WarmProjects::~WarmProjects() = default;

bool WarmProjects::watch_tree(Entry& e, const fs::path& dir) {
  int wd = ::inotify_add_watch(e.inotify, dir.c_str(), k_dir_events);
  if (wd < 0)
    return errno == ENOENT; // vanished meanwhile: its parent's event reads it again
  e.watches[wd] = dir;
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return true;
  bool ok = true;
  while (dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (name.starts_with(".") || ent->d_type != DT_DIR)
      continue; // dot-entries are never artifacts
    if (!(ok = watch_tree(e, dir / std::string(name))))
      break;
  }
  ::closedir(d);
  return ok;
}

void WarmProjects::watch_git(Entry& e) {
  e.git_watches.clear();
  if (e.watch != Watch::inotify || e.head.git_dir.empty())
    return;
  for (const auto& dir : {e.head.git_dir, e.head.git_dir / "logs"}) {
    int wd = ::inotify_add_watch(e.inotify, dir.c_str(), k_git_events | IN_ONLYDIR);
    if (wd >= 0)
      e.git_watches.insert(wd);
  }
}

bool WarmProjects::recall(Entry& e, std::map<std::string, Seen>& before,
                          std::optional<std::set<std::string>>& scope) {
  e.head = repo::head_state(e.project);
  std::string seen_commit = remembered_head(e.project.root); // HEAD when a daemon last looked
  bool moved = !seen_commit.empty() && seen_commit != e.head.commit;
  auto snapshot = take_snapshot(e.project);
  if (snapshot) {
    // What an earlier daemon had told its subscribers when it stopped: work-tree edits made
    // since then show up too, not only commits.
    before = std::move(*snapshot);
  } else if (moved) {
    // Stopped without a snapshot (killed): what subscribers knew is the remembered commit's
    // version of the artifacts the two commits' trees disagree on.
    auto changes = repo::artifact_changes_between(e.project, seen_commit, e.head.commit);
    if (!changes) {
      remember_head(e.project.root, e.head.commit); // that commit is gone: start afresh
      return false;
    }
    scope.emplace();
    for (const auto& c : *changes) {
      if (auto id = artifact::id_from_filename(c.new_path.filename().string()))
        scope->insert(id->str());
      auto id = artifact::id_from_filename(c.old_path.filename().string());
      if (c.old_path.empty() || !id)
        continue;
      scope->insert(id->str());
      auto read = artifact::read_artifact_text(*id, c.old_path, c.old_text);
      if (auto* a = std::get_if<artifact::Artifact>(&read))
        before[id->str()] = Seen::of(*a);
    }
  }
  if (moved) {
    e.head_moved = true; // reported first, and the cause of the changes
    e.head.commit = seen_commit;
    e.head.branch.clear(); // not remembered
  } else {
    remember_head(e.project.root, e.head.commit);
  }
  return snapshot || moved;
}

void WarmProjects::save_snapshots() const {
  std::lock_guard lock(m_mutex);
  for (const auto& [root, e] : m_projects)
    if (e->loaded)
      save_snapshot(*e);
}

util::Status WarmProjects::reload(Entry& e) {
  std::map<std::string, Seen> before;
  if (e.loaded)
    for (const auto& [id, a] : e.loaded->index.all())
      before[id.str()] = Seen::of(a);
  bool first = !e.loaded;
  if (e.inotify >= 0)
    ::close(e.inotify);
  e.inotify = -1;
  e.watches.clear();
  e.files.clear();
  // Watch first, then read: a change made during the read is then seen by the next refresh.
  if (e.watch == Watch::inotify) {
    e.inotify = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    std::error_code ec;
    bool watched = e.inotify >= 0 && (!fs::is_directory(e.project.artifacts_dir(), ec) ||
                                      watch_tree(e, e.project.artifacts_dir()));
    if (!watched) {
      // No inotify, or out of watches: this project is polled from now on.
      if (e.inotify >= 0)
        ::close(e.inotify);
      e.inotify = -1;
      e.watches.clear();
      e.watch = Watch::poll;
    }
  }
  std::optional<std::set<std::string>> scope; // the only IDs to compare, when known
  bool catch_up = first && recall(e, before, scope);
  watch_git(e);
  e.fingerprint = fingerprint(e.project, e.head.git_dir);
  if (e.watch == Watch::poll)
    e.files = scan(e.project.artifacts_dir());
  auto index = api::read_index(e.project);
  if (!index) {
    e.fingerprint = {}; // read again next time
    return index.error();
  }
  auto loaded = std::make_shared<api::LoadedProject>();
  loaded->project = e.project;
  loaded->index = std::move(*index);
  e.loaded = std::move(loaded);
  ++e.loads;
  if (!first || catch_up)
    report(e, before, scope ? &*scope : nullptr);
  before.clear();
  // Loading parses on several threads, each with its own malloc arena: what they freed along
  // the way, and the index this one replaces, go back to the system instead of staying in RSS
  // (about a tenth of a 10,000-artifact project).
  ::malloc_trim(0);
  return util::ok_status();
}

// Compares what subscribers knew (`before`, by ID) with the index now and queues notices; a
// move of HEAD is reported first, and names the cause of the artifact changes it brought.
std::string WarmProjects::report_head(Entry& e) {
  if (!std::exchange(e.head_moved, false))
    return {};
  auto now = repo::head_state(e.project);
  if (now == e.head)
    return {};
  auto why = head_cause(e.project);
  queue({std::string(protocol::method::repo_head),
         {{"project", e.project.root.string()},
          {"branch", now.branch},
          {"commit", now.commit},
          {"previous_branch", e.head.branch},
          {"previous_commit", e.head.commit},
          {"cause", why},
          {"time", util::format_utc(util::now_seconds())}}});
  e.head = now;
  remember_head(e.project.root, now.commit);
  return why;
}

void WarmProjects::report(Entry& e, const std::map<std::string, Seen>& before,
                          const std::set<std::string>* scope) {
  std::string cause = std::exchange(e.cause, {});
  auto root = e.project.root.string();
  if (auto why = report_head(e); cause.empty())
    cause = why;
  if (cause.empty())
    cause = "edit";
  auto time = util::format_utc(util::now_seconds());
  auto notice = [&](const std::string& id, const char* kind, const Seen* old, const Seen* now) {
    queue({std::string(protocol::method::artifact_changed),
           {{"project", root},
            {"id", id},
            {"kind", kind},
            {"title", now ? now->title : old->title},
            {"old_state", old ? json(old->state) : json(nullptr)},
            {"new_state", now ? json(now->state) : json(nullptr)},
            {"path", e.project.relative(now ? now->path : old->path)},
            {"cause", cause},
            {"branch", e.head.branch},
            {"commit", e.head.commit},
            {"time", time}}});
  };
  auto compare = [&](const std::string& key, const artifact::Artifact& a) {
    Seen now = Seen::of(a);
    auto it = before.find(key);
    if (it == before.end())
      notice(key, "created", nullptr, &now);
    else if (!(it->second == now))
      notice(key, "changed", &it->second, &now);
  };
  if (scope) {
    for (const auto& key : *scope)
      if (const artifact::Artifact* a = e.loaded->index.find(key))
        compare(key, *a);
  } else {
    for (const auto& [id, a] : e.loaded->index.all())
      compare(id.str(), a);
  }
  for (const auto& [id, old] : before)
    if (!e.loaded->index.find(id))
      notice(id, "deleted", &old, nullptr);
  report_duplicates(e, cause, time);
}

void WarmProjects::report_duplicates(Entry& e, const std::string& cause, const std::string& time) {
  // A merge, pull or checkout that brings a second file with a taken ID (parallel adds on two
  // branches): told once per file, with the fix.
  std::set<std::string> now;
  const auto& index = e.loaded->index;
  for (const auto& d : index.duplicates()) {
    auto id = d.id.str();
    auto path = e.project.relative(d.path);
    if (!now.insert(id + "\n" + path).second || e.duplicates_told.contains(id + "\n" + path))
      continue;
    const artifact::Artifact* kept = index.find(d.id);
    queue({std::string(protocol::method::artifact_duplicate),
           {{"project", e.project.root.string()},
            {"id", id},
            {"title", d.title},
            {"path", path},
            {"kept_path", kept ? json(e.project.relative(kept->path)) : json(nullptr)},
            {"cause", cause},
            {"branch", e.head.branch},
            {"commit", e.head.commit},
            {"time", time},
            {"hint", fmt::format("kodebase renumber {} --file {}", id, path)}}});
  }
  e.duplicates_told = std::move(now);
}

WarmProjects::Changes WarmProjects::drain_events(Entry& e) {
  Changes c;
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = util::read_some(e.inotify, buf, sizeof buf);
    if (n <= 0)
      break; // EAGAIN: drained
    c.events = true;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        c.full = true; // events were lost
        continue;
      }
      if (e.git_watches.contains(ev->wd)) {
        if (ev->len > 0 && std::string_view(ev->name) == "HEAD")
          e.head_moved = true;
        continue;
      }
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        c.full = true; // a watched directory went away
        continue;
      }
      auto dir = e.watches.find(ev->wd);
      if (dir == e.watches.end() || ev->len == 0)
        continue;
      std::string_view name = ev->name;
      if (name.starts_with("."))
        continue; // temporaries of atomic writes, the lock, hidden entries
      if (ev->mask & IN_ISDIR)
        c.full = true; // a folder appeared or went: watch and read the tree again
      else
        c.files.insert(dir->second / std::string(name));
    }
  }
  return c;
}

WarmProjects::Changes WarmProjects::rescan(Entry& e) {
  Changes c;
  auto now = scan(e.project.artifacts_dir());
  auto a = e.files.begin(), b = now.begin();
  while (a != e.files.end() || b != now.end()) {
    if (b == now.end() || (a != e.files.end() && a->first < b->first)) {
      c.files.insert((a++)->first); // gone
    } else if (a == e.files.end() || b->first < a->first) {
      c.files.insert((b++)->first); // new
    } else {
      if (!(a->second == b->second))
        c.files.insert(a->first);
      ++a, ++b;
    }
  }
  e.files = std::move(now);
  e.last_scan = Clock::now();
  return c;
}

util::Status WarmProjects::refresh(Entry& e) {
  if (!e.loaded)
    return reload(e);
  // Taken before the events are read: whatever changes after it is seen by the next refresh.
  auto fp = fingerprint(e.project, e.head.git_dir);
  Changes c = changes(e);
  if (!(fp == e.fingerprint)) {
    if (!fp.same_head(e.fingerprint))
      e.head_moved = true;
    // Something changed that inotify did not report (a network file system, a writer on
    // another machine): nothing it says about this project can be trusted, read it all.
    if (e.watch == Watch::inotify && !c.events)
      c.full = true;
  }
  e.fingerprint = fp;
  if (c.full)
    return reload(e);
  bool journal = journal_pending(e.project);
  if (c.files.empty() && !journal) {
    report_head(e); // HEAD may have moved without touching artifacts
    return util::ok_status();
  }
  // A writer may be between the renames of one change: wait for it (or, when it was killed,
  // settle its change), then take what it did since the events above were read.
  std::optional<repo::ReadLock> lock;
  if (auto taken = repo::ReadLock::acquire(e.project); taken)
    lock.emplace(std::move(*taken));
  else
    return taken.error();
  Changes more = changes(e);
  if (more.full) {
    lock.reset();
    return reload(e);
  }
  c.files.merge(more.files);
  if (c.files.empty()) {
    report_head(e);
    return util::ok_status();
  }
  auto updated = update(e, c.files);
  if (!lock->read_stands()) { // a first writer began while no lock file existed
    lock.reset();
    return reload(e);
  }
  return updated;
}

WarmProjects::Changes WarmProjects::changes(Entry& e) {
  return e.watch == Watch::inotify ? drain_events(e) : rescan(e);
}

bool WarmProjects::journal_pending(const repo::Project& project) {
  struct stat st {};
  return ::lstat((project.kodebase_dir() / ".journal").c_str(), &st) == 0 && st.st_size > 0;
}

util::Status WarmProjects::update(Entry& e, const std::set<fs::path>& changed) {
  // A private copy when a request still holds the current one; otherwise update in place.
  if (e.loaded.use_count() > 1)
    e.loaded = std::make_shared<api::LoadedProject>(*e.loaded);
  auto& index = e.loaded->index;
  for (const auto& problem : index.problems())
    if (problem.code == "DUPLICATE_ID")
      return reload(e); // which file wins depends on all of them
  // What subscribers knew of the artifacts in the changed files.
  std::map<std::string, Seen> before;
  for (const auto& [id, a] : index.all())
    if (changed.contains(a.path))
      before[id.str()] = Seen::of(a);
  std::set<std::string> touched;
  auto limits = api::read_limits();
  for (const auto& path : changed) {
    index.remove_path(path);
    // The same rules as a full read: links, FIFOs and devices are refused, not read.
    auto found = artifact::discover_one(e.project.artifacts_dir(), path);
    for (const auto& refused : found.refused) {
      if (refused.id)
        touched.insert(refused.id->str());
      index.add_problem(artifact::refused_problem(refused));
    }
    for (const auto& file : found.files) {
      touched.insert(file.id.str());
      auto read = artifact::read_artifact_file(file, limits);
      if (auto* a = std::get_if<artifact::Artifact>(&read)) {
        auto count = index.problems().size();
        index.add(std::move(*a));
        if (index.problems().size() != count)
          return reload(e); // a new duplicate
      } else {
        index.add_problem(std::get<artifact::FileProblem>(std::move(read)));
      }
      ++e.updates;
    }
  }
  index.sort_problems();
  // Only the artifacts of the changed files are compared: the rest are as subscribers knew them.
  for (const auto& [id, _] : before)
    touched.insert(id);
  report(e, before, &touched);
  return util::ok_status();
}

fs::path WarmProjects::root_of(const fs::path& directory) {
  auto project = repo::find_project(directory);
  return project ? project->root : directory.lexically_normal();
}

std::shared_ptr<WarmProjects::Entry> WarmProjects::find(const fs::path& root) const {
  std::lock_guard lock(m_mutex);
  auto it = m_projects.find(root);
  return it == m_projects.end() ? nullptr : it->second;
}

util::Result<std::shared_ptr<const api::LoadedProject>>
WarmProjects::open(const fs::path& directory) {
  auto project = repo::find_project(directory);
  KB_TRY(project);
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(m_mutex);
    auto& slot = m_projects[project->root];
    if (!slot) {
      slot = std::make_shared<Entry>();
      slot->project = *project;
      slot->watch = m_watch;
    }
    e = slot;
  }
  auto fresh = refresh(*e);
  e->last_used = Clock::now();
  publish(*e);
  if (!fresh && !e->loaded)
    return fresh.error();
  if (!fresh) // the artifacts as last read; the next request reads again
    e->fingerprint = {};
  return std::shared_ptr<const api::LoadedProject>(e->loaded);
}

void WarmProjects::poll(const fs::path& root, Clock::time_point now) {
  auto e = find(root);
  if (!e || !e->loaded)
    return;
  std::error_code ec;
  auto git_busy = [&] {
    return !e->head.git_dir.empty() && (fs::exists(e->head.git_dir / "index.lock", ec) ||
                                        fs::exists(e->head.git_dir / "HEAD.lock", ec));
  };
  if (e->watch == Watch::poll) {
    if (now - e->last_scan < 1s || git_busy())
      return;
    (void)refresh(*e);
    publish(*e);
    return;
  }
  int queued = 0;
  if (::ioctl(e->inotify, FIONREAD, &queued) != 0 || queued == 0) {
    e->queued = 0;
    return;
  }
  if (e->queued == 0)
    e->first_event = now;
  if (queued != e->queued)
    e->last_event = now;
  e->queued = queued;
  bool settled = now - e->last_event >= m_settle || now - e->first_event >= 1s;
  if (!settled || (git_busy() && now - e->first_event < 5s))
    return;
  e->queued = 0;
  (void)refresh(*e);
  publish(*e);
}

void WarmProjects::announce_write(const fs::path& root) {
  auto e = find(root);
  if (!e || !e->loaded)
    return;
  e->queued = 0; // the write's own events are read now
  (void)refresh(*e);
  publish(*e);
}

void WarmProjects::queue(Notice notice) {
  std::lock_guard lock(m_mutex);
  m_notices.push_back(std::move(notice));
}

std::vector<WarmProjects::Notice> WarmProjects::take_notices() {
  std::lock_guard lock(m_mutex);
  return std::exchange(m_notices, {});
}

void WarmProjects::note_cause(const fs::path& root, std::string cause) {
  if (auto e = find(root))
    e->cause = std::move(cause);
}

bool WarmProjects::expire(const fs::path& root, Clock::time_point now) {
  auto e = find(root);
  if (!e)
    return true;
  if (now - e->last_used <= m_ttl)
    return false;
  if (e->loaded)
    save_snapshot(*e); // its next load reports what changed meanwhile
  {
    std::lock_guard lock(m_mutex);
    m_projects.erase(root);
  }
  e.reset();
  ::malloc_trim(0); // a dropped project's memory goes back to the system
  return true;
}

void WarmProjects::publish(Entry& e) {
  Info info{e.project.root,   e.loaded ? e.loaded->index.size() : 0,
            e.watches.size(), e.watch == Watch::inotify ? "inotify" : "poll",
            e.loads,          e.updates,
            e.last_used};
  std::lock_guard lock(m_mutex);
  e.published = std::move(info);
}

std::vector<WarmProjects::Info> WarmProjects::info() const {
  std::lock_guard lock(m_mutex);
  std::vector<Info> out;
  for (const auto& [root, e] : m_projects)
    if (!e->published.root.empty())
      out.push_back(e->published);
  return out;
}

} // namespace kb::daemon::server
