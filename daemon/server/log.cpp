#include "daemon/server/log.hpp"

#include "core/util/file.hpp"
#include "core/util/time.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace kb::daemon::server {

Log::Log(std::filesystem::path file) : m_file(std::move(file)) {
  reopen();
}

Log::~Log() {
  if (m_out && m_out != stderr)
    std::fclose(m_out);
}

void Log::reopen() {
  if (m_out && m_out != stderr)
    std::fclose(m_out);
  m_out = stderr;
  if (m_file.empty())
    return;
  std::error_code ec;
  util::create_private_directories(m_file.parent_path());
  int fd = ::open(m_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return;
  if (std::FILE* f = ::fdopen(fd, "a"))
    m_out = f;
  else
    ::close(fd);
}

void Log::write(const std::string& line) {
  if (m_out != stderr) {
    std::error_code ec;
    if (std::filesystem::file_size(m_file, ec) > k_rotate_bytes && !ec) {
      std::filesystem::rename(m_file, m_file.string() + ".1", ec);
      reopen();
    }
  }
  std::fprintf(m_out, "%s [%d] %s\n", util::format_utc(util::now_seconds()).c_str(),
               static_cast<int>(::getpid()), line.c_str());
  std::fflush(m_out);
}

} // namespace kb::daemon::server
