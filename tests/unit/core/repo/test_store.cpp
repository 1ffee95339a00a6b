#include "core/repo/lock.hpp"
#include "core/repo/store.hpp"
#include "core/util/file.hpp"
#include "core/util/log.hpp"
#include "tests/unit/support.hpp"

#include <atomic>
#include <chrono>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using kb::repo::Project;
using kb::util::read_file;
using kb::util::write_file_atomic;

namespace {

// A project with two artifact files, and the warnings recovery gives while it lives.
struct Fixture {
  kb::test::TempDir dir;
  Project project = kb::repo::init_project(dir.path())->project;
  fs::path a = project.artifacts_dir() / "A.x" / "A.yml";
  fs::path b = project.artifacts_dir() / "B.yml";
  std::vector<std::string> warnings;

  Fixture() {
    fs::create_directories(a.parent_path());
    REQUIRE(write_file_atomic(a, "a0\n").ok());
    REQUIRE(write_file_atomic(b, "b0\n").ok());
    kb::util::set_warning_sink([this](std::string_view w) { warnings.emplace_back(w); });
  }
  ~Fixture() { kb::util::set_warning_sink({}); }

  // A change of both files stopped after `renames` of its renames, as a killed writer would.
  void interrupt(size_t renames, std::string a_text = "a1\n", std::string b_text = "b1\n") {
    auto lock = kb::repo::WriteLock::acquire(project);
    REQUIRE(lock.ok());
    kb::repo::Transaction tx;
    tx.put(a, std::move(a_text));
    tx.put(b, std::move(b_text));
    REQUIRE(tx.commit_interrupted(project, renames).ok());
  }
  fs::path journal() const { return project.kodebase_dir() / ".journal"; }
  std::string text(const fs::path& p) const {
    auto r = read_file(p);
    return r ? *r : "<missing>";
  }
  bool settled() const { return read_file(journal())->empty(); }
  size_t temporaries() const {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(project.kodebase_dir()))
      n += e.path().filename().string().ends_with(".kb-tmp");
    return n;
  }
};

} // namespace

TEST_CASE("a transaction writes every file", "[repo][store]") {
  Fixture f;
  auto lock = kb::repo::WriteLock::acquire(f.project);
  REQUIRE(lock.ok());
  kb::repo::Transaction tx;
  tx.put(f.a, "a\n");
  tx.put(f.b, "b\n");
  REQUIRE(tx.commit(f.project).ok());
  CHECK(f.text(f.a) == "a\n");
  CHECK(f.text(f.b) == "b\n");
  CHECK(f.settled());
  CHECK(f.temporaries() == 0);
}

TEST_CASE("a change interrupted at any rename is finished when its files are unchanged",
          "[repo][store]") {
  for (size_t renames : {0u, 1u}) {
    Fixture f;
    f.interrupt(renames);
    CHECK_FALSE(f.settled());
    REQUIRE(kb::repo::WriteLock::acquire(f.project).ok());
    CHECK(f.text(f.a) == "a1\n");
    CHECK(f.text(f.b) == "b1\n");
    CHECK(f.settled());
    CHECK(f.temporaries() == 0);
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].find("finished an interrupted change of 2 file(s)") != std::string::npos);
  }
}

TEST_CASE("an interrupted change is discarded when a file changed since (hand edit, branch "
          "switch), and nothing is overwritten",
          "[repo][store]") {
  SECTION("a file not renamed yet was edited") {
    Fixture f;
    f.interrupt(0);
    REQUIRE(write_file_atomic(f.a, "edited by hand\n").ok());
    REQUIRE(kb::repo::WriteLock::acquire(f.project).ok());
    CHECK(f.text(f.a) == "edited by hand\n");
    CHECK(f.text(f.b) == "b0\n");
    CHECK(f.settled());
    CHECK(f.temporaries() == 0);
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].find("discarded an interrupted change of 2 file(s)") != std::string::npos);
    CHECK(f.warnings[0].find(".kodebase/artifacts/A.x/A.yml") != std::string::npos);
  }
  SECTION("the renamed file was edited after the kill") {
    Fixture f;
    f.interrupt(1);
    REQUIRE(write_file_atomic(f.a, "edited again\n").ok());
    REQUIRE(kb::repo::recover(f.project).ok());
    CHECK(f.text(f.a) == "edited again\n");
    CHECK(f.text(f.b) == "b0\n"); // the rest of the change is not applied on its own
    CHECK(f.temporaries() == 0);
  }
  SECTION("a file the change creates appeared meanwhile") {
    Fixture f;
    auto fresh = f.project.artifacts_dir() / "C.yml";
    {
      auto lock = kb::repo::WriteLock::acquire(f.project);
      kb::repo::Transaction tx;
      tx.put(fresh, "c1\n");
      REQUIRE(tx.commit_interrupted(f.project, 0).ok());
    }
    REQUIRE(write_file_atomic(fresh, "someone else's\n").ok());
    REQUIRE(kb::repo::recover(f.project).ok());
    CHECK(f.text(fresh) == "someone else's\n");
  }
}

TEST_CASE("a reader settles an interrupted change before it reads", "[repo][store]") {
  Fixture f;
  f.interrupt(1);
  {
    auto lock = kb::repo::ReadLock::acquire(f.project);
    REQUIRE(lock.ok());
    CHECK(f.text(f.a) == "a1\n");
    CHECK(f.text(f.b) == "b1\n");
  }
  CHECK(f.settled());
}

TEST_CASE("readers wait while a writer holds the lock; the writer's own reads do not",
          "[repo][store]") {
  Fixture f;
  std::atomic<bool> released{false}, locked{false};
  std::thread writer([&] {
    auto lock = kb::repo::WriteLock::acquire(f.project);
    REQUIRE(lock.ok());
    // The thread that writes reads its project without waiting for itself.
    CHECK(kb::repo::ReadLock::acquire(f.project, 100).ok());
    locked = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    released = true;
  });
  for (int i = 0; i < 2000 && !locked; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(locked);
  auto reader = kb::repo::ReadLock::acquire(f.project, 5000);
  CHECK(reader.ok());
  CHECK(released); // it got the lock only after the writer let go
  writer.join();
}

TEST_CASE("a writer killed before its commit point leaves nothing behind", "[repo][store]") {
  Fixture f;
  // The first journal format, and a kill while the intent's second line was being written.
  auto tmp = f.a.parent_path() / ".A.yml.kb-tmp";
  REQUIRE(write_file_atomic(tmp, "half").ok());
  REQUIRE(write_file_atomic(f.a.parent_path() / ".keep", "").ok());
  REQUIRE(
      write_file_atomic(f.journal(), tmp.string() + "\t" + f.a.string() + "\n" +
                                         (f.project.artifacts_dir() / ".B.yml.kb-tmp").string() +
                                         "\t" + f.b.string().substr(0, 5))
          .ok());
  REQUIRE(kb::repo::WriteLock::acquire(f.project).ok());
  CHECK_FALSE(fs::exists(tmp));
  CHECK(f.text(f.a) == "a0\n");
  CHECK(f.settled());
  CHECK(fs::exists(f.a.parent_path() / ".keep"));
}

TEST_CASE("a journal of the first format is discarded, never rolled forward", "[repo][store]") {
  Fixture f;
  auto tmp = f.a.parent_path() / ".A.yml.kb-tmp";
  REQUIRE(write_file_atomic(tmp, "new\n").ok());
  REQUIRE(write_file_atomic(f.journal(), tmp.string() + "\t" + f.a.string() + "\ncommit\n").ok());
  REQUIRE(kb::repo::recover(f.project).ok());
  CHECK(f.text(f.a) == "a0\n");
  CHECK_FALSE(fs::exists(tmp));
  CHECK(f.settled());
  REQUIRE(f.warnings.size() == 1);
}

TEST_CASE("a crafted journal moves nothing outside .kodebase and nothing through links",
          "[repo][store]") {
  Fixture f;
  auto outside = f.dir.path() / "victim.txt";
  REQUIRE(write_file_atomic(outside, "keep\n").ok());
  auto tmp = f.dir.path() / ".victim.txt.kb-tmp";
  REQUIRE(write_file_atomic(tmp, "evil\n").ok());
  std::string hash(64, '0');
  for (const auto& rel : {std::string("victim.txt"), std::string(".kodebase/../victim.txt")}) {
    auto temp_rel = rel.substr(0, rel.rfind('/') + 1) + ".victim.txt.kb-tmp";
    REQUIRE(write_file_atomic(f.journal(), "kodebase journal 2\n" + temp_rel + "\t" + rel +
                                               "\t-\t" + hash + "\ncommit\n")
                .ok());
    REQUIRE(kb::repo::recover(f.project).ok());
    CHECK(f.text(outside) == "keep\n");
  }
  // A folder of .kodebase that is a link to somewhere else.
  fs::create_directory(f.dir.path() / "elsewhere");
  fs::create_directory_symlink(f.dir.path() / "elsewhere", f.project.kodebase_dir() / "lnk");
  REQUIRE(write_file_atomic(f.dir.path() / "elsewhere" / ".x.yml.kb-tmp", "evil\n").ok());
  REQUIRE(write_file_atomic(f.journal(), "kodebase journal 2\n.kodebase/lnk/.x.yml.kb-tmp\t"
                                         ".kodebase/lnk/x.yml\t-\t" +
                                             hash + "\ncommit\n")
              .ok());
  REQUIRE(kb::repo::recover(f.project).ok());
  CHECK_FALSE(fs::exists(f.dir.path() / "elsewhere" / "x.yml"));
  CHECK(fs::exists(tmp));
}

TEST_CASE("a lock or journal that is not a regular file is refused or removed, never waited on",
          "[repo][store]") {
  Fixture f;
  fs::remove(f.journal());
  fs::create_symlink("/dev/zero", f.journal());
  REQUIRE(kb::repo::WriteLock::acquire(f.project).ok());
  CHECK_FALSE(fs::exists(fs::symlink_status(f.journal())));
  fs::remove(f.project.kodebase_dir() / ".lock");
  REQUIRE(::mkfifo((f.project.kodebase_dir() / ".lock").c_str(), 0644) == 0);
  auto lock = kb::repo::WriteLock::acquire(f.project, 100);
  REQUIRE_FALSE(lock.ok());
  CHECK(lock.error().message.find("is a FIFO") != std::string::npos);
  auto reader = kb::repo::ReadLock::acquire(f.project, 100);
  REQUIRE_FALSE(reader.ok());
}

TEST_CASE("stray temporaries of .kodebase and its config folder are removed by the lock",
          "[repo][store]") {
  Fixture f;
  REQUIRE(write_file_atomic(f.project.kodebase_dir() / "..gitignore.tmp-AbC123", "x").ok());
  REQUIRE(
      write_file_atomic(f.project.settings_file().parent_path() / ".settings.yml.tmp-q1w2e3", "x")
          .ok());
  REQUIRE(kb::repo::WriteLock::acquire(f.project).ok());
  CHECK_FALSE(fs::exists(f.project.kodebase_dir() / "..gitignore.tmp-AbC123"));
  CHECK_FALSE(fs::exists(f.project.settings_file().parent_path() / ".settings.yml.tmp-q1w2e3"));
}

TEST_CASE("the ignore file covers kodebase's temporaries, also in older projects",
          "[repo][store]") {
  Fixture f;
  auto ignore = f.project.kodebase_dir() / ".gitignore";
  REQUIRE(write_file_atomic(ignore, "/.lock\n/.journal\nmine\n").ok());
  REQUIRE(kb::repo::WriteLock::acquire(f.project).ok());
  CHECK(f.text(ignore) == "/.lock\n/.journal\nmine\n*.kb-tmp\n.*.tmp-*\n");
}

TEST_CASE("readers make no lock file; a read without one stands only while there is none",
          "[repo][store]") {
  kb::test::TempDir dir;
  auto project = kb::repo::init_project(dir.path())->project;
  auto lock_file = project.kodebase_dir() / ".lock";
  fs::remove(lock_file);
  auto reader = kb::repo::ReadLock::acquire(project);
  REQUIRE(reader.ok());
  CHECK_FALSE(fs::exists(lock_file));
  CHECK(reader->read_stands());
  REQUIRE(kb::repo::WriteLock::acquire(project).ok()); // a first writer
  CHECK_FALSE(reader->read_stands());
}
