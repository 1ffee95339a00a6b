#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"
#include "tests/unit/support.hpp"

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kb::util;

TEST_CASE("UTC timestamps format and parse in the strict form", "[util][time]") {
  CHECK(format_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(format_utc(1761835020) == "2025-10-30T14:37:00Z");
  CHECK(parse_utc_strict("2025-10-30T14:37:00Z") == 1761835020);
  CHECK(parse_utc_strict("2024-02-29T23:59:59Z").has_value());
  for (auto bad : {"2025-10-30T14:37:00.123Z", "2025-10-15:30:10Z", "2025-11-03T1:13:00Z",
                   "2025-10-30T24:00:00Z", "2025-02-29T00:00:00Z", "2025-10-30 14:37:00Z",
                   "2025-10-30T14:37:00+00:00", ""})
    CHECK_FALSE(parse_utc_strict(bad));
}

TEST_CASE("lenient timestamps accept fractions and offsets for ordering", "[util][time]") {
  CHECK(parse_utc_lenient("2025-10-30T14:37:00.123Z") == 1761835020);
  CHECK(parse_utc_lenient("2025-10-30 14:37:00+00:00") == 1761835020);
  CHECK_FALSE(parse_utc_lenient("2025-10-15:30:10Z"));
  CHECK_FALSE(parse_utc_lenient("yesterday"));
}

TEST_CASE("atomic writes replace the file and leave no temporary behind", "[util][file]") {
  kb::test::TempDir dir;
  auto path = dir.path() / "a.yml";
  REQUIRE(write_file_atomic(path, "one\n").ok());
  REQUIRE(write_file_atomic(path, "two\n").ok());
  CHECK(*read_file(path) == "two\n");
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path()))
    ++entries;
  CHECK(entries == 1);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("reading a missing file is a not_found error naming the path", "[util][file]") {
  auto r = read_file("/nonexistent/kodebase/file.yml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::not_found);
  CHECK(r.error().message.find("/nonexistent/kodebase/file.yml") != std::string::npos);
}

TEST_CASE("find_upwards finds the nearest folder holding the marker", "[util][file]") {
  kb::test::TempDir dir;
  std::filesystem::create_directories(dir.path() / ".kodebase");
  std::filesystem::create_directories(dir.path() / "src" / "deep");
  CHECK(find_upwards(dir.path() / "src" / "deep", ".kodebase") == dir.path());
  CHECK_FALSE(find_upwards(dir.path() / "src", "no-such-marker"));
}

TEST_CASE("a child run by run_capture inherits no descriptor but its three", "[util][process]") {
  // The daemon's sockets are not all close-on-exec; git, gh and the merge driver it runs must
  // not hold them (a child outliving the daemon would keep its socket answering nobody).
  // No O_CLOEXEC, as a listening socket may be; high, so that ls's own descriptors differ.
  int opened = ::open("/dev/null", O_RDONLY);
  int leaked = ::fcntl(opened, F_DUPFD, 60);
  ::close(opened);
  REQUIRE(leaked >= 60);
  auto listed = run_capture({"ls", "/proc/self/fd"}, false);
  ::close(leaked);
  REQUIRE(listed);
  auto fds = lines_of(listed->out);
  CHECK(std::find(fds.begin(), fds.end(), std::to_string(leaked)) == fds.end());
}
