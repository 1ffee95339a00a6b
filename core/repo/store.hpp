#pragma once

#include "core/repo/project.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kb::repo {

// The project's write lock: an advisory flock on `.kodebase/.lock`, held while the object
// lives. Every process that writes artifacts (CLI one-shot, hooks, the daemon) takes it, so
// writes are serialized across processes. Taking it also finishes any interrupted transaction.
class WriteLock {
public:
  // Waits up to `timeout_ms` for the lock; fails with kind unavailable after that.
  static util::Result<WriteLock> acquire(const Project& project, int timeout_ms = 10000);
  WriteLock(WriteLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  WriteLock& operator=(WriteLock&&) = delete;
  WriteLock(const WriteLock&) = delete;
  ~WriteLock();

private:
  explicit WriteLock(int fd) : m_fd(fd) {}
  int m_fd;
};

// Files written together or not at all.
//
// How: the journal `.kodebase/.journal` first lists the (temporary, target) pairs as an
// intent. Every new content then goes to its temporary, a dot-named file next to its target
// (`.<name>.kb-tmp`; the lock makes one writer the only user of these names), and is fsync'ed.
// A `commit` line is appended to the journal and it is fsync'ed: that is the commit point.
// The renames follow, then the journal is emptied (the file stays, so committing never has to
// sync its directory). A process killed before the commit point leaves an intent whose
// temporaries the next lock deletes; one killed after it leaves a journal that the next lock
// rolls forward. Either way every file is old or new, and the set is all old or all new. An
// empty journal means nothing to recover, so taking the lock never walks the tree.
class Transaction {
public:
  void put(std::filesystem::path target, std::string contents);
  bool empty() const { return m_files.empty(); }
  // Writes everything; the caller must hold the WriteLock.
  util::Status commit(const Project& project);

private:
  std::vector<std::pair<std::filesystem::path, std::string>> m_files;
};

// Finishes or discards an interrupted transaction (WriteLock::acquire calls it).
util::Status recover(const Project& project);

} // namespace kb::repo
