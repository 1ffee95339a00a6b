#pragma once

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <string>

namespace kb::daemon::server {

// The daemon's log: stderr in the foreground, else an append-only file (0600) rotated to
// `<file>.1` when it passes a size, and reopened on SIGHUP (after an external rotation).
class Log {
public:
  static constexpr std::uintmax_t k_rotate_bytes = 1 << 20;

  // An empty path logs to stderr.
  explicit Log(std::filesystem::path file = {});
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  const std::filesystem::path& file() const { return m_file; }
  void reopen();

  template <typename... Args> void info(fmt::format_string<Args...> f, Args&&... args) {
    write(fmt::format(f, std::forward<Args>(args)...));
  }

private:
  void write(const std::string& line);

  std::filesystem::path m_file;
  std::FILE* m_out = nullptr;
};

} // namespace kb::daemon::server
