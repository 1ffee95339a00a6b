#include "daemon/github/cache.hpp"
#include "daemon/github/http_front.hpp"
#include "tests/unit/support.hpp"

#include <catch2/catch.hpp>
#include <ctime>
#include <sqlite3.h>

using namespace kb::daemon::github;

TEST_CASE("github.sock takes every form of request target", "[daemon][github]") {
  CHECK(api_path("/repos/o/r?per_page=100&page=2") == "/repos/o/r?per_page=100&page=2");
  CHECK(api_path("https://api.github.com/repos/o/r") == "/repos/o/r");
  CHECK(api_path("http://api.github.com") == "/");
  CHECK(api_path("/api/v3/repos/o/r") == "/repos/o/r");
  CHECK(api_path("/api/graphql") == "/graphql");
  CHECK(api_path("repos/o/r") == "/repos/o/r");
}

TEST_CASE("header names compare without case", "[daemon][github]") {
  Headers h{{"ETag", "\"a\""}, {"x-ratelimit-remaining", "10"}, {"etag", "\"b\""}};
  CHECK(header(h, "etag") == "\"a\"");
  CHECK(header(h, "X-RateLimit-Remaining") == "10");
  CHECK(header(h, "Link").empty());
  remove_header(h, "ETAG");
  CHECK(h.size() == 1);
}

namespace {

Entry entry(const std::string& key, const std::string& partition, const std::string& url,
            size_t body_size = 10) {
  return {key,
          partition,
          url,
          200,
          {{"ETag", "\"" + key + "\""}},
          std::string(body_size, 'x'),
          "\"" + key + "\"",
          "",
          1000};
}

} // namespace

TEST_CASE("a failing cache database is reported, not read as a miss in silence",
          "[daemon][github]") {
  kb::test::TempDir dir;
  auto file = dir.path() / "github.sqlite";
  Cache cache;
  REQUIRE(cache.open(file, 1u << 20));
  CHECK(cache.put(entry("k1", "p1", "/repos/o/r")));
  // Another process holds the file's write lock longer than the cache waits for it.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto st = cache.put(entry("k2", "p1", "/repos/o/r/issues"));
  REQUIRE_FALSE(st);
  CHECK(st.error().kind == kb::util::ErrorKind::io);
  CHECK(st.error().message.find("database is locked") != std::string::npos);
  CHECK(cache.failures() == 1);
  CHECK(cache.last_failure() == st.error().message);
  CHECK(cache.find("k2")); // still answered from memory
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  CHECK(cache.put(entry("k3", "p1", "/repos/o/r/pulls")));
  CHECK(cache.failures() == 1);
}

TEST_CASE("the GitHub cache keeps answers on disk, by partition, within its size",
          "[daemon][github]") {
  kb::test::TempDir dir;
  auto file = dir.path() / "github.sqlite";
  {
    Cache cache;
    REQUIRE(cache.open(file, 1u << 20));
    CHECK(cache.put(entry("k1", "p1", "/repos/o/r")));
    CHECK(cache.put(entry("k2", "p1", "/repos/o/r/issues")));
    CHECK(cache.put(entry("k3", "p2", "/repos/o/r")));
    CHECK(cache.put(entry("k4", "p1", "/repos/o/other")));
    CHECK(cache.put(entry("k5", "p1", "/repos/o/rx")));
    CHECK(cache.figures().entries == 5);
    CHECK(cache.figures_by_partition()["p1"].entries == 4);

    // a change through partition p1 makes p1's reads of that repository due, nobody else's
    cache.mark_stale("p1", "/repos/o/r");
    CHECK(cache.find("k1")->checked_at == 0);
    CHECK(cache.find("k2")->checked_at == 0);
    CHECK(cache.find("k3")->checked_at == 1000);
    CHECK(cache.find("k4")->checked_at == 1000);
    CHECK(cache.find("k5")->checked_at == 1000); // another repository, whose name only starts alike
    CHECK(cache.touch("k1", 2000));
    CHECK(cache.find("k1")->checked_at == 2000);
    // a teammate changed the repository: everyone's reads of it are due, in any case
    CHECK(cache.put(entry("k6", "p2", "/repos/O/R/pulls?state=open")));
    cache.mark_stale_everywhere("/repos/o/r");
    CHECK(cache.find("k1")->checked_at == 0);
    CHECK(cache.find("k3")->checked_at == 0);
    CHECK(cache.find("k6")->checked_at == 0);
    CHECK(cache.find("k4")->checked_at == 1000);
    CHECK(cache.find("k5")->checked_at == 1000);
    CHECK(cache.touch("k1", 2000));
  }
  {
    Cache reopened; // what was stored survives, read from disk
    REQUIRE(reopened.open(file, 1u << 20));
    auto e = reopened.find("k1");
    REQUIRE(e);
    CHECK(e->checked_at == 2000);
    CHECK(e->etag == "\"k1\"");
    CHECK(header(e->headers, "etag") == "\"k1\"");
    CHECK(reopened.clear("/repos/o/r") == 3); // both o/r entries and o/r/issues
    CHECK_FALSE(reopened.find("k1"));
    CHECK(reopened.find("k4"));
    CHECK(reopened.find("k5"));
  }
  {
    Cache small; // over its size, the least recently used go first
    REQUIRE(small.open(dir.path() / "small.sqlite", 3000));
    for (int i = 0; i < 10; ++i)
      CHECK(small.put(entry("s" + std::to_string(i), "p", "/x", 1000)));
    small.prune();
    auto f = small.figures();
    CHECK(f.bytes <= 3000);
    CHECK(f.entries >= 1);
    CHECK(small.find("s9"));
    // a month later nobody has used any of them (a token rotated away): all go
    auto left = small.figures().entries;
    CHECK(small.prune(std::time(nullptr) + Cache::k_max_idle + 60) == left);
    CHECK(small.figures().entries == 0);
    CHECK_FALSE(small.find("s9"));
  }
  CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::others_all) ==
        std::filesystem::perms::none);
}
