#include "daemon/github/cache.hpp"

#include "core/util/file.hpp"
#include "core/util/json.hpp"
#include "core/util/log.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <chrono>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kb::daemon::github {

namespace {

// A prepared statement, finalized on scope exit.
// One SQL statement. A failure (preparing it, or a step that is neither a row nor the end: a
// locked, full or damaged file) ends its steps and is kept for status(), so that it is never
// read as "no row".
class Statement {
public:
  Statement(sqlite3* db, const char* sql) : m_db(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK)
      m_failure = sqlite3_errmsg(db);
  }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  explicit operator bool() const { return m_stmt != nullptr; }
  Statement& bind(int i, const std::string& text) {
    sqlite3_bind_text(m_stmt, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_blob(int i, const std::string& bytes) {
    sqlite3_bind_blob(m_stmt, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t value) {
    sqlite3_bind_int64(m_stmt, i, value);
    return *this;
  }
  // The next row: true while there is one; false at the end and on a failure.
  bool step() {
    if (!m_stmt || !m_failure.empty())
      return false;
    int rc = sqlite3_step(m_stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      m_failure = sqlite3_errmsg(m_db);
    return rc == SQLITE_ROW;
  }
  // Runs it to its end (a statement that returns no rows); its status.
  util::Status run() {
    while (step()) {
    }
    return status();
  }
  // Whether everything it did so far worked.
  util::Status status() const {
    if (m_failure.empty())
      return util::ok_status();
    return util::make_error(util::ErrorKind::io,
                            fmt::format("the GitHub cache's database failed: {}", m_failure));
  }
  std::string text(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(m_stmt, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, i))) : std::string();
  }
  int64_t integer(int i) const { return sqlite3_column_int64(m_stmt, i); }

private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
  std::string m_failure;
};

std::string headers_text(const Headers& headers) {
  auto out = nlohmann::json::array();
  for (const auto& [k, v] : headers)
    out.push_back({k, v});
  return out.dump();
}

Headers headers_of(const std::string& text) {
  Headers out;
  auto doc = util::parse_json_bounded(text);
  if (doc.is_array())
    for (const auto& kv : doc)
      if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string())
        out.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  return out;
}

// Whether `url` is `prefix` or below it (`/repos/o/r` covers `/repos/o/r/issues` and
// `/repos/o/r?x`, not `/repos/o/rx`); the empty prefix covers everything.
bool under(const std::string& url, const std::string& prefix) {
  return url.starts_with(prefix) && (prefix.empty() || url.size() == prefix.size() ||
                                     url[prefix.size()] == '/' || url[prefix.size()] == '?');
}

// The same test in SQL, for a statement whose parameters 1..3 are bound by bind_under.
constexpr const char* k_under_sql =
    "(?1 = '' OR url = ?1 OR substr(url, 1, length(?1) + 1) IN (?1 || '/', ?1 || '?'))";

} // namespace

size_t Entry::size() const {
  size_t n = key.size() + partition.size() + url.size() + body.size() + etag.size() +
             last_modified.size() + sizeof(Entry);
  for (const auto& [k, v] : headers)
    n += k.size() + v.size() + 2 * sizeof(std::string);
  return n;
}

Cache::~Cache() {
  if (m_db)
    sqlite3_close(m_db);
}

bool Cache::exec(const char* sql) {
  return sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

util::Status Cache::open(const std::filesystem::path& file, size_t max_bytes, size_t hot_bytes) {
  m_max_bytes = max_bytes;
  m_hot_max = hot_bytes;
  std::error_code ec;
  util::create_private_directories(file.parent_path());
  // Created private before SQLite opens it: cached answers may hold private data.
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::fchmod(fd, 0600);
    ::close(fd);
  }
  if (sqlite3_open_v2(file.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string why = m_db ? sqlite3_errmsg(m_db) : "out of memory";
    sqlite3_close(m_db);
    m_db = nullptr;
    return util::make_error(util::ErrorKind::io,
                            "cannot open the GitHub cache " + file.string() + ": " + why);
  }
  sqlite3_busy_timeout(m_db, 2000);
  bool ok =
      exec("PRAGMA journal_mode=WAL") && exec("PRAGMA synchronous=NORMAL") &&
      exec("CREATE TABLE IF NOT EXISTS entries ("
           " key TEXT PRIMARY KEY, partition TEXT NOT NULL, url TEXT NOT NULL,"
           " status INTEGER NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,"
           " etag TEXT NOT NULL, last_modified TEXT NOT NULL,"
           " checked_at INTEGER NOT NULL, used_at INTEGER NOT NULL, size INTEGER NOT NULL)") &&
      exec("CREATE INDEX IF NOT EXISTS entries_used ON entries(used_at)") &&
      exec("CREATE INDEX IF NOT EXISTS entries_url ON entries(partition, url)");
  if (!ok)
    return util::make_error(util::ErrorKind::io, "cannot set up the GitHub cache " + file.string() +
                                                     ": " + sqlite3_errmsg(m_db));
  return util::ok_status();
}

void Cache::remember(const Entry& entry) {
  forget(entry.key);
  if (entry.size() > m_hot_max / 4)
    return; // a huge body stays on disk only
  m_hot.push_front(entry);
  m_hot_index[entry.key] = m_hot.begin();
  m_hot_bytes += entry.size();
  while (m_hot_bytes > m_hot_max && !m_hot.empty()) {
    m_hot_bytes -= m_hot.back().size();
    m_hot_index.erase(m_hot.back().key);
    m_hot.pop_back();
  }
}

void Cache::forget(const std::string& key) {
  auto it = m_hot_index.find(key);
  if (it == m_hot_index.end())
    return;
  m_hot_bytes -= it->second->size();
  m_hot.erase(it->second);
  m_hot_index.erase(it);
}

std::optional<Entry> Cache::find(const std::string& key) {
  if (auto it = m_hot_index.find(key); it != m_hot_index.end()) {
    m_hot.splice(m_hot.begin(), m_hot, it->second);
    // Answered from memory: the disk learns of the use now and then, so that pruning by
    // idleness never drops what is in use.
    if (auto now = util::now_seconds(); m_db && now - it->second->used_at > 3600) {
      it->second->used_at = now;
      Statement(m_db, "UPDATE entries SET used_at = ? WHERE key = ?")
          .bind(1, now)
          .bind(2, key)
          .step();
    }
    return *it->second;
  }
  if (!m_db)
    return std::nullopt;
  Statement q(m_db, "SELECT partition, url, status, headers, body, etag, last_modified,"
                    " checked_at FROM entries WHERE key = ?");
  if (!q.bind(1, key).step()) {
    noted(q.status()); // a failed read is a miss, and said so
    return std::nullopt;
  }
  Entry e{key,
          q.text(0),
          q.text(1),
          static_cast<int>(q.integer(2)),
          headers_of(q.text(3)),
          q.text(4),
          q.text(5),
          q.text(6),
          q.integer(7)};
  noted(Statement(m_db, "UPDATE entries SET used_at = ? WHERE key = ?")
            .bind(1, util::now_seconds())
            .bind(2, key)
            .run());
  remember(e);
  return e;
}

util::Status Cache::put(const Entry& stored) {
  m_all_stale.clear(); // something may be fresh again
  Entry e = stored;
  e.used_at = util::now_seconds();
  remember(e);
  if (!m_db)
    return util::ok_status();
  auto st =
      Statement(m_db, "INSERT OR REPLACE INTO entries (key, partition, url, status, headers, body,"
                      " etag, last_modified, checked_at, used_at, size)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, e.key)
          .bind(2, e.partition)
          .bind(3, e.url)
          .bind(4, int64_t{e.status})
          .bind(5, headers_text(e.headers))
          .bind_blob(6, e.body)
          .bind(7, e.etag)
          .bind(8, e.last_modified)
          .bind(9, e.checked_at)
          .bind(10, e.used_at)
          .bind(11, static_cast<int64_t>(e.size()))
          .run();
  noted(st);
  if (++m_puts_since_prune >= 64)
    prune();
  return st;
}

util::Status Cache::touch(const std::string& key, int64_t when) {
  if (when != 0)
    m_all_stale.clear();
  if (auto it = m_hot_index.find(key); it != m_hot_index.end())
    it->second->checked_at = when;
  if (!m_db)
    return util::ok_status();
  auto st = Statement(m_db, "UPDATE entries SET checked_at = ?, used_at = ? WHERE key = ?")
                .bind(1, when)
                .bind(2, util::now_seconds())
                .bind(3, key)
                .run();
  noted(st);
  return st;
}

void Cache::noted(const util::Status& st) {
  if (st)
    return;
  // Into the daemon's log: the first, then one in a hundred, so a broken file cannot flood it.
  if (m_failures++ % 100 == 0)
    util::warn(fmt::format("{} ({} so far; answers come from GitHub meanwhile)", st.error().message,
                           m_failures));
  m_last_failure = st.error().message;
}

void Cache::mark_stale(const std::string& partition, const std::string& prefix) {
  for (auto& e : m_hot)
    if (e.partition == partition && under(e.url, prefix))
      e.checked_at = 0;
  if (m_db)
    Statement(m_db, (std::string("UPDATE entries SET checked_at = 0 WHERE partition = ?2 AND ") +
                     k_under_sql)
                        .c_str())
        .bind(1, prefix)
        .bind(2, partition)
        .step();
}

void Cache::mark_stale_everywhere(const std::string& prefix) {
  // A burst of changes to one repository (a webhook relay's pushes, a teammate's updates)
  // marks it once: until something is stored or revalidated, it is all stale already.
  if (!m_all_stale.insert(prefix).second)
    return;
  for (auto& e : m_hot) {
    if (under(util::ascii_lower(e.url), prefix))
      e.checked_at = 0;
  }
  if (m_db)
    Statement(m_db, "UPDATE entries SET checked_at = 0 WHERE lower(url) = ?1 OR "
                    "substr(lower(url), 1, length(?1) + 1) IN (?1 || '/', ?1 || '?')")
        .bind(1, prefix)
        .step();
}

size_t Cache::clear(const std::string& prefix) {
  std::erase_if(m_hot_index, [&](const auto& kv) { return under(kv.second->url, prefix); });
  for (auto it = m_hot.begin(); it != m_hot.end();) {
    if (under(it->url, prefix)) {
      m_hot_bytes -= it->size();
      it = m_hot.erase(it);
    } else {
      ++it;
    }
  }
  if (!m_db)
    return 0;
  Statement(m_db, (std::string("DELETE FROM entries WHERE ") + k_under_sql).c_str())
      .bind(1, prefix)
      .step();
  return static_cast<size_t>(sqlite3_changes(m_db));
}

size_t Cache::prune(int64_t now) {
  m_puts_since_prune = 0;
  if (!m_db)
    return 0;
  if (now == 0)
    now = util::now_seconds();
  size_t idle = 0;
  {
    std::vector<std::string> keys;
    Statement q(m_db, "SELECT key FROM entries WHERE used_at < ?");
    q.bind(1, now - k_max_idle);
    while (q.step())
      keys.push_back(q.text(0));
    for (const auto& key : keys)
      forget(key);
    Statement(m_db, "DELETE FROM entries WHERE used_at < ?").bind(1, now - k_max_idle).step();
    idle = static_cast<size_t>(sqlite3_changes(m_db));
  }
  auto total = figures().bytes;
  if (total <= m_max_bytes)
    return idle;
  // Oldest use first, until what is left fits.
  std::vector<std::string> victims;
  {
    Statement q(m_db, "SELECT key, size FROM entries ORDER BY used_at ASC");
    while (total > m_max_bytes && q.step()) {
      victims.push_back(q.text(0));
      total -= std::min<size_t>(total, static_cast<size_t>(q.integer(1)));
    }
  }
  exec("BEGIN");
  for (const auto& key : victims) {
    forget(key);
    Statement(m_db, "DELETE FROM entries WHERE key = ?").bind(1, key).step();
  }
  exec("COMMIT");
  return idle + victims.size();
}

CacheFigures Cache::figures() {
  CacheFigures f;
  if (!m_db)
    return f;
  Statement q(m_db, "SELECT count(*), coalesce(sum(size), 0) FROM entries");
  if (q.step())
    f = {static_cast<size_t>(q.integer(0)), static_cast<size_t>(q.integer(1))};
  noted(q.status());
  return f;
}

std::map<std::string, CacheFigures> Cache::figures_by_partition() {
  std::map<std::string, CacheFigures> out;
  if (!m_db)
    return out;
  Statement q(m_db,
              "SELECT partition, count(*), coalesce(sum(size), 0) FROM entries GROUP BY partition");
  while (q.step())
    out[q.text(0)] = {static_cast<size_t>(q.integer(1)), static_cast<size_t>(q.integer(2))};
  return out;
}

} // namespace kb::daemon::github
