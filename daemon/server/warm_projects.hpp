#pragma once

#include "core/api/context.hpp"
#include "core/repo/git.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kb::daemon::server {

// The daemon's projects: loaded once, then kept current by inotify. Before a project is handed
// to a request, the events queued so far are drained and only the files they name are read
// again, so an answer never reflects less than what was on disk when the request arrived —
// even for writes another process made a microsecond earlier. A fingerprint (HEAD, its reflog,
// the index, the artifacts folder) is compared on every request too: a change inotify missed
// is read in full. Where inotify is unavailable, or blind (network file systems), the watcher
// polls instead: the artifact files' stat data are compared and only the files that differ
// are read again.
//
// Calls about one project must not overlap (the daemon runs them on the project's strand);
// calls about different projects may run at the same time. take_notices() and info() may be
// called at any time.
class WarmProjects final : public api::ProjectSource {
public:
  enum class Watch { inotify, poll };
  // `settle`: how long file events must be quiet before their changes are read (at most a
  // second after the first).
  explicit WarmProjects(Watch watch = Watch::inotify,
                        std::chrono::seconds ttl = std::chrono::seconds(600),
                        std::chrono::milliseconds settle = std::chrono::milliseconds(150));
  ~WarmProjects() override;
  WarmProjects(const WarmProjects&) = delete;
  WarmProjects& operator=(const WarmProjects&) = delete;

  util::Result<std::shared_ptr<const api::LoadedProject>>
  open(const std::filesystem::path& directory) override;

  // The root of the project holding `directory` (the directory itself when there is none
  // yet): what calls about one project have in common.
  static std::filesystem::path root_of(const std::filesystem::path& directory);

  // Drops the project at `root` when unused for longer than the TTL, keeping what its
  // subscribers were told for its next load. True when it is not held (any more).
  bool expire(const std::filesystem::path& root, std::chrono::steady_clock::time_point now);
  // Keeps what subscribers of each project were told, for the next daemon to compare with.
  // Only while no other call runs (the daemon stops).
  void save_snapshots() const;

  // A notification for subscribers: `artifact.changed` or `repo.head`, with the project root.
  struct Notice {
    std::string method;
    nlohmann::json params;
  };

  // Reads what changed in the project at `root` once its events have settled (no new event
  // for the settle time, or 1 s after the first; never while git holds index.lock or HEAD.lock;
  // when polling, at most once a second). Called often while anyone subscribes.
  void poll(const std::filesystem::path& root, std::chrono::steady_clock::time_point now);
  // Reads at once what a write the daemon just made in the project at `root` changed (its
  // file events need no settling: the write is complete) and queues the notices, with the
  // cause noted for it. In the project's lane, as poll.
  void announce_write(const std::filesystem::path& root);
  // What changed since the last call, found by poll or by a request's refresh.
  std::vector<Notice> take_notices();
  // The cause to report for the next changes of the project at `root` (see root_of; a write
  // the daemon just made, e.g. "kodebase start").
  void note_cause(const std::filesystem::path& root, std::string cause);

  struct Info {
    std::filesystem::path root;
    size_t artifacts = 0;
    size_t watches = 0;
    std::string watch;     // "inotify" or "poll"
    long long loads = 0;   // full reads
    long long updates = 0; // files read again after an event
    std::chrono::steady_clock::time_point last_used;
  };
  std::vector<Info> info() const;

private:
  struct Entry;
  struct Seen;
  struct Changes;
  std::shared_ptr<Entry> find(const std::filesystem::path& root) const;
  // Brings the entry up to date with the disk; fails only when the artifacts could not be read
  // (a writer held the project's lock too long), leaving what was read before.
  util::Status refresh(Entry& e);
  util::Status reload(Entry& e);
  // The files named by inotify events, or by a comparison of stat data when polling.
  Changes changes(Entry& e);
  Changes drain_events(Entry& e);
  Changes rescan(Entry& e);
  // Whether a transaction is in flight or was interrupted (its journal is not empty).
  static bool journal_pending(const repo::Project& project);
  // Reads the changed files again and reports what they changed.
  util::Status update(Entry& e, const std::set<std::filesystem::path>& changed);
  // On a project's first load: what an earlier daemon's subscribers knew of it (`before`, and
  // the IDs to compare when only those are known). False when there is nothing to catch up.
  bool recall(Entry& e, std::map<std::string, Seen>& before,
              std::optional<std::set<std::string>>& scope);
  void save_snapshot(const Entry& e) const;
  static std::optional<std::map<std::string, Seen>> take_snapshot(const repo::Project& project);
  bool watch_tree(Entry& e, const std::filesystem::path& dir);
  void watch_git(Entry& e);
  // Queues notices for what differs from `before`; with `scope`, only those IDs are compared.
  void report(Entry& e, const std::map<std::string, Seen>& before,
              const std::set<std::string>* scope = nullptr);
  // Queues a notice for each artifact file whose ID another file has, once per file.
  void report_duplicates(Entry& e, const std::string& cause, const std::string& time);
  std::string report_head(Entry& e);
  void queue(Notice notice);
  // Makes the entry's figures visible to info().
  void publish(Entry& e);

  Watch m_watch;
  std::chrono::seconds m_ttl;
  std::chrono::milliseconds m_settle;
  mutable std::mutex m_mutex; // guards the two members below and each entry's published info
  std::vector<Notice> m_notices;
  std::map<std::filesystem::path, std::shared_ptr<Entry>> m_projects;
};

} // namespace kb::daemon::server
