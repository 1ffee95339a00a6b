#include "core/repo/lock.hpp"

#include "core/repo/store.hpp"
#include "core/util/file.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <mutex>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace kb::repo {

namespace fs = std::filesystem;

namespace {

fs::path lock_path(const Project& p) {
  return p.kodebase_dir() / ".lock";
}

// The write locks this process holds, by thread and lock file: a thread that holds one must
// not wait for a shared lock on the same file (flock would make it wait for itself).
std::mutex g_held_mutex;
std::vector<std::pair<std::thread::id, std::string>> g_held;

void note_held(const std::string& path) {
  std::lock_guard lock(g_held_mutex);
  g_held.emplace_back(std::this_thread::get_id(), path);
}

void note_released(std::thread::id thread, const std::string& path) {
  std::lock_guard lock(g_held_mutex);
  auto it = std::find(g_held.begin(), g_held.end(), std::pair(thread, path));
  if (it != g_held.end())
    g_held.erase(it);
}

// Opens the lock file without following a link and checks it is a regular file: a cloned
// repository may hold anything under that name. `create` makes it when missing.
util::Result<int> open_lock_file(const fs::path& path, bool create) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  if (create)
    flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    if (errno == ELOOP)
      return util::make_error(
          util::ErrorKind::io,
          fmt::format("{} is a symbolic link; kodebase keeps its lock there", path.string()),
          {{"hint", fmt::format("remove it: rm {}", path.string())}});
    return util::errno_error(fmt::format("cannot open the lock file {}", path.string()));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return util::make_error(util::ErrorKind::io,
                            fmt::format("{} is {}; kodebase keeps its lock there", path.string(),
                                        util::describe_file_type(st.st_mode)),
                            {{"hint", fmt::format("remove it: rm {}", path.string())}});
  }
  return fd;
}

// Takes `operation` (LOCK_EX or LOCK_SH) on `fd`, polling until `timeout_ms` has passed.
util::Status lock_with_timeout(int fd, int operation, const fs::path& path, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (::flock(fd, operation | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return util::errno_error(fmt::format("cannot lock {}", path.string()));
    if (std::chrono::steady_clock::now() > deadline)
      return util::make_error(util::ErrorKind::unavailable,
                              fmt::format("another kodebase process has held {} for {} s",
                                          path.string(), timeout_ms / 1000),
                              {{"hint", "wait for it to finish, then try again"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return util::ok_status();
}

bool journal_pending(const Project& project) {
  struct stat st {};
  return ::lstat((project.kodebase_dir() / ".journal").c_str(), &st) == 0 && st.st_size > 0;
}

} // namespace

WriteLock::WriteLock(int fd, std::string path)
    : m_fd(fd), m_path(std::move(path)), m_thread(std::this_thread::get_id()) {
  note_held(m_path);
}

WriteLock::WriteLock(WriteLock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)),
      m_thread(other.m_thread) {}

util::Result<WriteLock> WriteLock::acquire(const Project& project, int timeout_ms) {
  auto path = lock_path(project);
  auto fd = open_lock_file(path, true);
  KB_TRY(fd);
  if (auto st = lock_with_timeout(*fd, LOCK_EX, path, timeout_ms); !st) {
    ::close(*fd);
    return st.error();
  }
  WriteLock lock(*fd, path.string());
  // Projects made before `init` wrote it still get the ignore file for kodebase's own files.
  ensure_gitignore(project);
  KB_TRY(recover(project));
  return lock;
}

WriteLock::~WriteLock() {
  if (m_fd < 0)
    return;
  note_released(m_thread, m_path);
  ::close(m_fd); // closing releases the flock
}

bool WriteLock::held_here(const Project& project) {
  auto path = lock_path(project).string();
  std::lock_guard lock(g_held_mutex);
  return std::find(g_held.begin(), g_held.end(), std::pair(std::this_thread::get_id(), path)) !=
         g_held.end();
}

ReadLock::ReadLock(ReadLock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_unlocked(std::move(other.m_unlocked)) {}

ReadLock::~ReadLock() {
  if (m_fd >= 0)
    ::close(m_fd);
}

bool ReadLock::read_stands() const {
  struct stat st {};
  return m_unlocked.empty() || (::lstat(m_unlocked.c_str(), &st) != 0 && errno == ENOENT);
}

util::Result<ReadLock> ReadLock::acquire(const Project& project, int timeout_ms) {
  if (WriteLock::held_here(project))
    return ReadLock(-1, "");
  auto path = lock_path(project);
  for (int attempt = 0;; ++attempt) {
    // Every writer makes the lock file before it changes anything, and nothing removes it.
    struct stat seen {};
    if (::lstat(path.c_str(), &seen) != 0 && errno == ENOENT)
      return ReadLock(-1, path.string());
    auto fd = open_lock_file(path, false);
    KB_TRY(fd);
    if (auto st = lock_with_timeout(*fd, LOCK_SH, path, timeout_ms); !st) {
      ::close(*fd);
      return st.error();
    }
    ReadLock lock(*fd, "");
    if (!journal_pending(project) || attempt == 2)
      return lock;
    // A writer was killed after its commit point (a live one would still hold the lock):
    // settle its change as a writer, then read.
    { ReadLock released = std::move(lock); }
    auto writer = WriteLock::acquire(project, timeout_ms);
    if (!writer)
      return ReadLock(-1, ""); // may not write here: read what is there
  }
}

} // namespace kb::repo
