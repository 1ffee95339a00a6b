#include "daemon/server/warm_projects.hpp"

#include "core/artifact/layout.hpp"

#include <cerrno>
#include <dirent.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace kb::daemon::server {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t k_dir_events = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                  IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

} // namespace

struct WarmProjects::Entry {
  repo::Project project;
  std::shared_ptr<api::LoadedProject> loaded;
  int inotify = -1;
  std::map<int, fs::path> watches; // watch descriptor → directory
  bool stale = true;               // read everything again before the next use
  long long loads = 0, updates = 0;
  std::chrono::steady_clock::time_point last_used;

  ~Entry() {
    if (inotify >= 0)
      ::close(inotify);
  }
};

WarmProjects::WarmProjects(std::chrono::seconds ttl) : m_ttl(ttl) {}
WarmProjects::~WarmProjects() = default;

void WarmProjects::watch_tree(Entry& e, const fs::path& dir) {
  if (e.inotify < 0)
    return;
  int wd = ::inotify_add_watch(e.inotify, dir.c_str(), k_dir_events);
  if (wd < 0) {
    // Out of watches (or the directory vanished): fall back to full reads for this project.
    ::close(e.inotify);
    e.inotify = -1;
    e.watches.clear();
    return;
  }
  e.watches[wd] = dir;
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return;
  while (dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (name.starts_with(".") || ent->d_type != DT_DIR)
      continue; // dot-entries are never artifacts
    watch_tree(e, dir / std::string(name));
  }
  ::closedir(d);
}

void WarmProjects::reload(Entry& e) {
  if (e.inotify >= 0)
    ::close(e.inotify);
  e.watches.clear();
  // Watch first, then read: a change made during the read is then seen by the next refresh.
  e.inotify = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (std::error_code ec; fs::is_directory(e.project.artifacts_dir(), ec))
    watch_tree(e, e.project.artifacts_dir());
  auto loaded = std::make_shared<api::LoadedProject>();
  loaded->project = e.project;
  loaded->index = artifact::load_index(e.project.artifacts_dir());
  e.loaded = std::move(loaded);
  e.stale = e.inotify < 0 || e.watches.empty();
  ++e.loads;
}

void WarmProjects::refresh(Entry& e) {
  if (e.stale || e.inotify < 0)
    return reload(e);
  std::set<fs::path> changed;
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(e.inotify, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
        return reload(e); // lost events, or a watched directory went away
      auto dir = e.watches.find(ev->wd);
      if (dir == e.watches.end() || ev->len == 0)
        continue;
      std::string_view name = ev->name;
      if (name.starts_with("."))
        continue; // temporaries of atomic writes, the lock, hidden entries
      if (ev->mask & IN_ISDIR)
        return reload(e); // a folder appeared or went: read the tree again
      changed.insert(dir->second / std::string(name));
    }
  }
  if (changed.empty())
    return;
  // A private copy when a request still holds the current one; otherwise update in place.
  if (e.loaded.use_count() > 1)
    e.loaded = std::make_shared<api::LoadedProject>(*e.loaded);
  auto& index = e.loaded->index;
  for (const auto& problem : index.problems())
    if (problem.code == "DUPLICATE_ID")
      return reload(e); // which file wins depends on all of them
  for (const auto& path : changed) {
    index.remove_path(path);
    auto id = artifact::id_from_filename(path.filename().string());
    std::error_code ec;
    if (!id || !fs::is_regular_file(path, ec))
      continue;
    auto read = artifact::read_artifact_file(artifact::DiscoveredFile{*id, path});
    if (auto* a = std::get_if<artifact::Artifact>(&read)) {
      auto before = index.problems().size();
      index.add(std::move(*a));
      if (index.problems().size() != before)
        return reload(e); // a new duplicate
    } else {
      index.add_problem(std::get<artifact::FileProblem>(std::move(read)));
    }
    ++e.updates;
  }
  index.sort_problems();
}

util::Result<std::shared_ptr<const api::LoadedProject>>
WarmProjects::open(const fs::path& directory) {
  auto project = repo::find_project(directory);
  if (!project)
    return project.error();
  auto& slot = m_projects[project->root];
  if (!slot) {
    slot = std::make_unique<Entry>();
    slot->project = *project;
  }
  refresh(*slot);
  slot->last_used = std::chrono::steady_clock::now();
  return std::shared_ptr<const api::LoadedProject>(slot->loaded);
}

size_t WarmProjects::expire() {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(m_projects, [&](const auto& kv) { return now - kv.second->last_used > m_ttl; });
  return m_projects.size();
}

std::vector<WarmProjects::Info> WarmProjects::info() const {
  std::vector<Info> out;
  for (const auto& [root, e] : m_projects)
    out.push_back({root, e->loaded ? e->loaded->index.size() : 0, e->watches.size(), e->loads,
                   e->updates, e->last_used});
  return out;
}

} // namespace kb::daemon::server
