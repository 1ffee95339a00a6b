#pragma once

#include "core/repo/project.hpp"
#include "core/util/result.hpp"

#include <string>
#include <thread>

namespace kb::repo {

// The project's write lock: an exclusive advisory flock on `.kodebase/.lock`, held while the
// object lives. Every process that writes artifacts (CLI one-shot, hooks, the daemon) takes
// it, so writes are serialized across processes. Taking it also settles any interrupted
// transaction (see recover).
class WriteLock {
public:
  // Waits up to `timeout_ms` for the lock; fails with kind unavailable after that, and with
  // kind io when the lock file cannot be opened (or is not a regular file).
  static util::Result<WriteLock> acquire(const Project& project, int timeout_ms = 10000);
  WriteLock(WriteLock&& other) noexcept;
  WriteLock& operator=(WriteLock&&) = delete;
  WriteLock(const WriteLock&) = delete;
  ~WriteLock();

  // Whether the calling thread holds the write lock of `project` (its reads then need no
  // ReadLock: it is the writer).
  static bool held_here(const Project& project);

private:
  WriteLock(int fd, std::string path);
  int m_fd;
  std::string m_path; // the lock file
  std::thread::id m_thread;
};

// Held by a reader while it reads artifact files: a shared flock on the same file, so no
// writer is between the first and the last rename of a change meanwhile, and a change that a
// killed writer left in the journal is settled before anything is read. A thread that holds
// the write lock gets an empty ReadLock. Readers never create the lock file: where there is
// none, no writer has started, and the read stands if there is still none after it.
class ReadLock {
public:
  // Waits up to `timeout_ms` for writers to finish; fails with kind unavailable after that.
  static util::Result<ReadLock> acquire(const Project& project, int timeout_ms = 10000);
  ReadLock(ReadLock&& other) noexcept;
  ReadLock& operator=(ReadLock&&) = delete;
  ReadLock(const ReadLock&) = delete;
  ~ReadLock();

  // After reading: false when the read was made without a lock file and a writer has made
  // one since (read again, with a new ReadLock).
  bool read_stands() const;

private:
  ReadLock(int fd, std::string unlocked) : m_fd(fd), m_unlocked(std::move(unlocked)) {}
  int m_fd;
  std::string m_unlocked; // the lock file that did not exist when the read began
};

} // namespace kb::repo
