#pragma once

#include "core/util/result.hpp"
#include "daemon/github/upstream.hpp"

#include <cstdint>
#include <filesystem>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

struct sqlite3;

namespace kb::daemon::github {

// One stored GitHub answer. Only what may be replayed to the same token is kept: no
// Set-Cookie, no request fields.
struct Entry {
  std::string key;       // hex SHA-256 of partition, method, URL, Accept, API version, body
  std::string partition; // the token's fingerprint
  std::string url;       // path and exact query, for invalidation by prefix
  int status = 0;
  Headers headers;
  std::string body;
  std::string etag, last_modified;
  int64_t checked_at = 0; // unix seconds of the last answer from GitHub (200 or 304)
  int64_t used_at = 0;    // the last use written to disk (hits from memory refresh it hourly)
  size_t size() const;
};

struct CacheFigures {
  size_t entries = 0;
  size_t bytes = 0;
};

// The cache of GitHub answers: SQLite in WAL mode on disk (survives restarts; many processes
// may open it; a crash never corrupts it) and the most recently used entries in memory.
// Bounded by size: the least recently used entries go first.
class Cache {
public:
  Cache() = default;
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Opens (creating when missing) the cache file; the file is made 0600.
  util::Status open(const std::filesystem::path& file, size_t max_bytes,
                    size_t hot_bytes = 32u << 20);

  // The most the stored answers may take; the next eviction keeps to it.
  void set_max_bytes(size_t max_bytes) { m_max_bytes = max_bytes; }

  // The entry stored under `key`; a database that fails to answer is a miss (counted in
  // failures(), logged).
  std::optional<Entry> find(const std::string& key);
  // Stores an answer: in memory always, on disk unless the database fails (the status says so;
  // the failure is counted and logged too).
  util::Status put(const Entry& entry);
  // The entry was confirmed by GitHub (a 304) at `when`.
  util::Status touch(const std::string& key, int64_t when);
  // Makes every entry of `partition` whose URL starts with `prefix` due for revalidation.
  void mark_stale(const std::string& partition, const std::string& prefix);
  // The same for every partition, the prefix compared in any case (a repository changed
  // elsewhere, e.g. by a teammate: `prefix` is lower-case).
  void mark_stale_everywhere(const std::string& prefix);
  // Removes everything, or the entries whose URL starts with `prefix` (any partition).
  size_t clear(const std::string& prefix = {});
  // Drops the entries nobody used for `k_max_idle` (those of a rotated or revoked token among
  // them), then the least recently used ones until the cache fits its size; returns how many
  // went. `now` is the time to judge idleness by (unix seconds; the clock by default).
  size_t prune(int64_t now = 0);
  static constexpr int64_t k_max_idle = 30 * 24 * 3600;
  CacheFigures figures();
  std::map<std::string, CacheFigures> figures_by_partition();

  // How often the database failed since the cache opened, and the last failure's message.
  size_t failures() const { return m_failures; }
  const std::string& last_failure() const { return m_last_failure; }

private:
  // Counts and logs a failed database operation.
  void noted(const util::Status& st);
  void remember(const Entry& entry);
  void forget(const std::string& key);
  bool exec(const char* sql);

  sqlite3* m_db = nullptr;
  size_t m_max_bytes = 0;
  size_t m_hot_max = 0;
  size_t m_hot_bytes = 0;
  size_t m_puts_since_prune = 0;
  size_t m_failures = 0;
  std::string m_last_failure;
  // In-memory tier: most recently used first.
  std::list<Entry> m_hot;
  std::set<std::string> m_all_stale; // prefixes with nothing fresh since they were marked
  std::unordered_map<std::string, std::list<Entry>::iterator> m_hot_index;
};

} // namespace kb::daemon::github
