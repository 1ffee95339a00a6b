#pragma once

#include "core/api/context.hpp"
#include "core/repo/git.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kb::daemon::server {

// The daemon's projects: loaded once, then kept current by inotify. Before a project is handed
// to a request, the events queued so far are drained and only the files they name are read
// again, so an answer never reflects less than what was on disk when the request arrived —
// even for writes another process made a microsecond earlier. Where inotify is unavailable
// (or its queue overflowed) the project is read again in full.
class WarmProjects final : public api::ProjectSource {
public:
  explicit WarmProjects(std::chrono::seconds ttl = std::chrono::seconds(600));
  ~WarmProjects() override;
  WarmProjects(const WarmProjects&) = delete;
  WarmProjects& operator=(const WarmProjects&) = delete;

  util::Result<std::shared_ptr<const api::LoadedProject>>
  open(const std::filesystem::path& directory) override;

  // Drops projects unused for longer than the TTL; returns how many are left.
  size_t expire();
  // Keeps what subscribers of each project were told, for the next daemon to compare with
  // (called when the daemon stops; an expired project's is kept as it is dropped).
  void save_snapshots() const;

  // A notification for subscribers: `artifact.changed` or `repo.head`, with the project root.
  struct Notice {
    std::string method;
    nlohmann::json params;
  };

  // Reads what changed in watched projects once their events have settled (no new event for
  // 150 ms, or 1 s after the first; never while git holds index.lock or HEAD.lock), and
  // returns what subscribers should hear. Called often while anyone subscribes.
  void poll(std::chrono::steady_clock::time_point now);
  // What changed since the last call, found by poll or by a request's refresh.
  std::vector<Notice> take_notices();
  // The cause to report for the next changes of the project holding `directory` (a write the
  // daemon just made, e.g. "kodebase start").
  void note_cause(const std::filesystem::path& directory, std::string cause);

  struct Info {
    std::filesystem::path root;
    size_t artifacts = 0;
    size_t watches = 0;
    long long loads = 0;   // full reads
    long long updates = 0; // files read again after an event
    std::chrono::steady_clock::time_point last_used;
  };
  std::vector<Info> info() const;

private:
  struct Entry;
  struct Seen;
  void refresh(Entry& e);
  void reload(Entry& e);
  // On a project's first load: what an earlier daemon's subscribers knew of it (`before`, and
  // the IDs to compare when only those are known). False when there is nothing to catch up.
  bool recall(Entry& e, std::map<std::string, Seen>& before,
              std::optional<std::set<std::string>>& scope);
  void save_snapshot(const Entry& e) const;
  static std::optional<std::map<std::string, Seen>> take_snapshot(const repo::Project& project);
  void watch_tree(Entry& e, const std::filesystem::path& dir);
  void watch_git(Entry& e);
  // Queues notices for what differs from `before`; with `scope`, only those IDs are compared.
  void report(Entry& e, const std::map<std::string, Seen>& before,
              const std::set<std::string>* scope = nullptr);
  std::string report_head(Entry& e);

  std::vector<Notice> m_notices;

  std::chrono::seconds m_ttl;
  std::map<std::filesystem::path, std::unique_ptr<Entry>> m_projects;
};

} // namespace kb::daemon::server
