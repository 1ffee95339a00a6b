#pragma once

// File descriptors without the boilerplate: an owning handle, and reads, writes and waits that
// retry what a signal interrupted. Header-only, so the thin CLI uses it too.

#include "core/util/result.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace kb::util {

// An open file descriptor owned by one object: closed when it goes, moved but never copied.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other)
      reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }
  // Gives the descriptor up without closing it.
  int release() { return std::exchange(m_fd, -1); }
  // Closes what is held and holds `fd` instead.
  void reset(int fd = -1) {
    if (m_fd >= 0)
      ::close(m_fd);
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

// ::read, retried while a signal interrupts it: the bytes read, 0 at the end, -1 with errno.
inline ssize_t read_some(int fd, void* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0 || errno != EINTR)
      return n;
  }
}

// All of `data` written to `fd`, through short and interrupted writes; else the failed write's
// errno as an io error.
inline Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return make_error(ErrorKind::io, std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok_status();
}

// Everything `fd` gives until its end, appended to `out`; else the failed read's errno as an
// io error (what was read so far stays in `out`).
inline Status read_all(int fd, std::string& out) {
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = read_some(fd, buf, sizeof buf);
    if (n < 0)
      return make_error(ErrorKind::io, std::strerror(errno));
    if (n == 0)
      return ok_status();
    out.append(buf, static_cast<size_t>(n));
  }
}

// Waits for child `pid` to end: its exit status, or -1 when it was killed by a signal or
// cannot be waited for.
inline int wait_exit_code(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace kb::util
