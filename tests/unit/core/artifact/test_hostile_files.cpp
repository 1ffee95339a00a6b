// Reading a repository crafted by someone hostile: links, devices, FIFOs, loops, bad bytes,
// aliases and repeated keys are reported file by file and never read, followed or expanded.
#include "core/artifact/edit.hpp"
#include "core/artifact/id.hpp"
#include "core/artifact/index.hpp"
#include "core/util/file.hpp"
#include "tests/unit/support.hpp"

#include <chrono>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using kb::artifact::ArtifactIndex;
using kb::artifact::load_index;
using kb::util::write_file_atomic;

namespace {

// A tree with a valid A and A.1 under artifacts/; the test adds the hostile entries.
struct Tree {
  kb::test::TempDir dir;
  fs::path artifacts = dir.path() / "artifacts";
  fs::path initiative = artifacts / "A.x";
  fs::path milestone = initiative / "A.1.y";

  Tree() {
    fs::create_directories(milestone);
    REQUIRE(write_file_atomic(initiative / "A.yml", kb::test::valid_yaml("A")).ok());
    REQUIRE(write_file_atomic(milestone / "A.1.yml", kb::test::valid_yaml("A.1")).ok());
  }
  ArtifactIndex load(kb::artifact::ReadLimits limits = {}) const {
    return load_index(artifacts, limits);
  }
};

// The problem reported for the file named `name`, or nullptr.
const kb::artifact::FileProblem* problem_of(const ArtifactIndex& index, const std::string& name) {
  for (const auto& p : index.problems())
    if (p.path.filename() == name)
      return &p;
  return nullptr;
}

} // namespace

TEST_CASE("a link to a file outside the artifacts folder is reported and never read",
          "[artifact][hostile]") {
  Tree t;
  auto secret = t.dir.path() / "hosts.yml";
  REQUIRE(
      write_file_atomic(secret, kb::test::valid_yaml("A.1.11") + "# oauth_token: gho_x\n").ok());
  fs::create_symlink("../../../hosts.yml", t.milestone / "A.1.11.notes.yml");
  // A link inside the folder, to a regular file, is read.
  REQUIRE(write_file_atomic(t.artifacts / "spare.txt", kb::test::valid_yaml("A.1.2")).ok());
  fs::create_symlink("../../spare.txt", t.milestone / "A.1.2.yml");
  auto index = t.load();
  CHECK_FALSE(index.find("A.1.11"));
  auto p = problem_of(index, "A.1.11.notes.yml");
  REQUIRE(p);
  CHECK(p->code == "UNSAFE_FILE");
  CHECK(p->message.find("outside the artifacts folder") != std::string::npos);
  CHECK(p->message.find("gho_") == std::string::npos);
  CHECK(index.find("A.1.2"));
}

TEST_CASE("devices, FIFOs and links to them are refused without opening them",
          "[artifact][hostile]") {
  Tree t;
  fs::create_symlink("/dev/zero", t.milestone / "A.1.3.yml");
  fs::create_symlink("/dev/urandom", t.milestone / "A.1.4.yml");
  REQUIRE(::mkfifo((t.milestone / "A.1.5.yml").c_str(), 0644) == 0);
  REQUIRE(::mkfifo((t.dir.path() / "fifo").c_str(), 0644) == 0);
  fs::create_symlink(t.dir.path() / "fifo", t.milestone / "A.1.6.yml");
  auto started = std::chrono::steady_clock::now();
  auto index = t.load();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  for (const char* name : {"A.1.3.yml", "A.1.4.yml", "A.1.5.yml", "A.1.6.yml"}) {
    INFO(name);
    auto p = problem_of(index, name);
    REQUIRE(p);
    CHECK(p->code == "UNSAFE_FILE");
  }
  CHECK(index.size() == 2);
}

TEST_CASE("links to folders are never followed, so loops cannot grow the walk",
          "[artifact][hostile]") {
  Tree t;
  fs::create_directory_symlink(".", t.milestone / "loop");
  fs::create_directory_symlink(".", t.milestone / "loop2");
  fs::create_directory_symlink(t.dir.path(), t.milestone / "out");
  auto index = t.load();
  CHECK(index.size() == 2);
  CHECK(problem_of(index, "loop"));
  CHECK(problem_of(index, "loop2"));
  CHECK(problem_of(index, "out"));
}

TEST_CASE("text that is not UTF-8, binary files and non-UTF-8 names are reported, the rest reads",
          "[artifact][hostile]") {
  Tree t;
  auto bad = kb::test::valid_yaml("A.1.1");
  bad.replace(bad.find("title: ") + 7, 0, "\xff");
  REQUIRE(write_file_atomic(t.milestone / "A.1.1.yml", bad).ok());
  REQUIRE(write_file_atomic(t.milestone / "A.1.2.yml", std::string("\x7f"
                                                                   "ELF\x02\x01\0\0",
                                                                   8))
              .ok());
  fs::create_directory(t.initiative / "A.2.\xc3(");
  REQUIRE(
      write_file_atomic(t.initiative / "A.2.\xc3(" / "A.2.yml", kb::test::valid_yaml("A.2")).ok());
  REQUIRE(
      write_file_atomic(t.milestone / "A.1.3.\xe9t\xe9.yml", kb::test::valid_yaml("A.1.3")).ok());
  auto index = t.load();
  CHECK(index.size() == 2);
  auto utf8 = problem_of(index, "A.1.1.yml");
  REQUIRE(utf8);
  CHECK(utf8->code == "INVALID_UTF8");
  CHECK(utf8->mark.line == 2);
  auto binary = problem_of(index, "A.1.2.yml");
  REQUIRE(binary);
  CHECK(binary->code == "BINARY_CONTENT");
  size_t names = 0;
  for (const auto& p : index.problems())
    names += p.code == "INVALID_PATH";
  CHECK(names == 2);
}

TEST_CASE("a byte order mark and CRLF line ends are read, and edits write them back",
          "[artifact][hostile]") {
  auto lf = kb::test::valid_yaml("A.1.1");
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : lf)
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto a = kb::test::artifact_of("A.1.1", crlf);
  CHECK(a.title == kb::test::artifact_of("A.1.1", lf).title);
  auto doc = kb::artifact::DocumentText::parse(crlf);
  REQUIRE(doc.ok());
  REQUIRE(doc->set_scalar({"metadata", "priority"}, "low", true).ok());
  auto out = doc->text();
  CHECK(out.starts_with("\xEF\xBB\xBF"));
  CHECK(out.find("priority: low\r\n") != std::string::npos);
  size_t lines = 0, crlfs = 0;
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i] == '\n') {
      ++lines;
      crlfs += i > 0 && out[i - 1] == '\r';
    }
  CHECK(lines == crlfs);
}

TEST_CASE("a repeated key is an error naming both lines, and edits refuse the file",
          "[artifact][hostile]") {
  auto text = kb::test::valid_yaml("A.1.1");
  auto at = text.find("  priority:");
  text.insert(at, "  title: Second title\n");
  auto read = kb::artifact::read_artifact_text(*kb::artifact::ArtifactId::parse("A.1.1"),
                                               "/virtual/A.1.1.yml", text);
  auto* p = std::get_if<kb::artifact::FileProblem>(&read);
  REQUIRE(p);
  CHECK(p->code == "DUPLICATE_KEY");
  CHECK(p->message.find("duplicate key 'title' (first at line 2)") != std::string::npos);
  CHECK(p->mark.line == 3);
  CHECK_FALSE(kb::artifact::DocumentText::parse(text).ok());
}

TEST_CASE("a YAML alias bomb is refused quickly and small", "[artifact][hostile]") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    bomb += std::string(1, c) + ": &" + std::string(1, c) + " [*" + std::string(1, c - 1) + ", *" +
            std::string(1, c - 1) + ", *" + std::string(1, c - 1) + ", *" + std::string(1, c - 1) +
            ", *" + std::string(1, c - 1) + ", *" + std::string(1, c - 1) + ", *" +
            std::string(1, c - 1) + ", *" + std::string(1, c - 1) + ", *" + std::string(1, c - 1) +
            "]\n";
  auto started = std::chrono::steady_clock::now();
  auto read = kb::artifact::read_artifact_text(*kb::artifact::ArtifactId::parse("A"),
                                               "/virtual/A.yml", bomb);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  auto* p = std::get_if<kb::artifact::FileProblem>(&read);
  REQUIRE(p);
  CHECK(p->code == "YAML_ALIAS_LIMIT");
  // A few aliases are still read.
  auto few = kb::artifact::parse_yaml("a: &a [x]\nb: *a\n");
  REQUIRE(few.ok());
  CHECK(few->find("b")->items.size() == 1);
}

TEST_CASE("files over the size limit are reported, not read", "[artifact][hostile]") {
  Tree t;
  REQUIRE(write_file_atomic(t.milestone / "A.1.1.yml",
                            kb::test::valid_yaml("A.1.1") + "#" + std::string(8192, 'x') + "\n")
              .ok());
  auto index = t.load({.max_file_bytes = 4096});
  auto p = problem_of(index, "A.1.1.yml");
  REQUIRE(p);
  CHECK(p->code == "FILE_TOO_LARGE");
  CHECK(t.load().find("A.1.1"));
}

TEST_CASE("the next ID counts files that cannot be read", "[artifact][hostile]") {
  Tree t;
  REQUIRE(write_file_atomic(t.milestone / "A.1.11.yml", "metadata: [broken").ok());
  auto index = t.load();
  CHECK_FALSE(index.find("A.1.11"));
  auto next = kb::artifact::next_id(*kb::artifact::ArtifactId::parse("A.1"), index.ids());
  CHECK(next.str() == "A.1.12");
}

TEST_CASE("read_file refuses FIFOs, devices and links it must not follow, without blocking",
          "[util][file][hostile]") {
  kb::test::TempDir dir;
  auto fifo = dir.path() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto r = kb::util::read_file(fifo);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("a FIFO") != std::string::npos);
  CHECK_FALSE(kb::util::read_file("/dev/zero").ok());
  auto link = dir.path() / "link";
  REQUIRE(write_file_atomic(dir.path() / "file", "x").ok());
  fs::create_symlink("file", link);
  CHECK(kb::util::read_file(link).ok());
  CHECK_FALSE(kb::util::read_file(link, {.follow_links = false}).ok());
  CHECK_FALSE(kb::util::read_file(dir.path() / "file", {.max_bytes = 0}).ok());
}

TEST_CASE("escapes of U+0080..U+00FF come out as UTF-8 (found by the reader's fuzz target)",
          "[artifact][hostile]") {
  auto doc = kb::artifact::parse_yaml("a: \"x\\_y\\N\\xe9\"\n");
  REQUIRE(doc.ok());
  CHECK(doc->find("a")->scalar == "x\xC2\xA0y\xC2\x85\xC3\xA9");
}
