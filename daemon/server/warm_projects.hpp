#pragma once

#include "core/api/context.hpp"

#include <chrono>
#include <map>
#include <memory>
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
  void refresh(Entry& e);
  void reload(Entry& e);
  void watch_tree(Entry& e, const std::filesystem::path& dir);

  std::chrono::seconds m_ttl;
  std::map<std::filesystem::path, std::unique_ptr<Entry>> m_projects;
};

} // namespace kb::daemon::server
