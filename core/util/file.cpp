#include "core/util/file.hpp"

#include "core/util/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace kb::util {

namespace {

Error io_error(std::string_view what, const std::filesystem::path& path, int err) {
  auto kind = err == ENOENT ? ErrorKind::not_found : ErrorKind::io;
  return make_error(kind, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
}

} // namespace

std::string_view describe_file_type(unsigned mode) {
  switch (mode & S_IFMT) {
  case S_IFREG: return "a regular file";
  case S_IFDIR: return "a folder";
  case S_IFLNK: return "a symbolic link";
  case S_IFIFO: return "a FIFO";
  case S_IFSOCK: return "a socket";
  case S_IFCHR:
  case S_IFBLK: return "a device";
  }
  return "not a regular file";
}

Result<std::string> read_file(const std::filesystem::path& path, const ReadOptions& options) {
  auto refuse = [&](std::string why, std::string_view reason) -> Error {
    return make_error(ErrorKind::io, fmt::format("cannot read {}: {}", path.string(), why),
                      {{"reason", reason}});
  };
  // Looked at before it is opened: opening a FIFO would block and opening a device may act.
  struct stat st {};
  int looked = options.follow_links ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (looked != 0)
    return io_error("open", path, errno);
  if (S_ISLNK(st.st_mode))
    return refuse("it is a symbolic link, which is not followed here", "link");
  if (!S_ISREG(st.st_mode))
    return refuse(fmt::format("it is {}, not a regular file", describe_file_type(st.st_mode)),
                  "not_regular");
  int flags =
      O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (options.follow_links ? 0 : O_NOFOLLOW);
  Fd file(::open(path.c_str(), flags));
  if (!file)
    return io_error("open", path, errno);
  if (::fstat(file.get(), &st) != 0)
    return io_error("stat", path, errno);
  if (!S_ISREG(st.st_mode)) // replaced between the two looks
    return refuse(fmt::format("it is {}, not a regular file", describe_file_type(st.st_mode)),
                  "not_regular");
  auto too_large = [&] {
    return refuse(fmt::format("it is larger than {} bytes", options.max_bytes), "too_large");
  };
  if (static_cast<std::uintmax_t>(st.st_size) > options.max_bytes)
    return too_large();
  // Ask for one byte more than the size: a short read then proves the end of the file
  // without another system call (projects have thousands of small files).
  std::string out(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t used = 0;
  for (;;) {
    ssize_t n = read_some(file.get(), out.data() + used, out.size() - used);
    if (n < 0)
      return io_error("read", path, errno);
    used += static_cast<size_t>(n);
    if (n == 0 || used < out.size())
      break;
    if (used > options.max_bytes)
      return too_large(); // it grew while we read it
    out.resize(std::min<std::uintmax_t>(out.size() * 2, options.max_bytes + 1));
  }
  out.resize(used);
  return out;
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                         unsigned mode) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  Fd tmp(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!tmp)
    return io_error("create a temporary file in", dir, errno);
  auto cleanup_on_error = [&](Error e) -> Status {
    ::unlink(tmpl.c_str());
    return e;
  };
  if (auto st = write_all(tmp.get(), contents); !st)
    return cleanup_on_error(io_error("write", tmpl, errno));
  if (::fchmod(tmp.get(), static_cast<mode_t>(mode)) != 0 || ::fsync(tmp.get()) != 0)
    return cleanup_on_error(io_error("sync", tmpl, errno));
  if (::rename(tmpl.c_str(), path.c_str()) != 0)
    return cleanup_on_error(io_error("rename into place", path, errno));
  // The rename is only durable once the directory entry itself reaches the disk.
  Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirfd)
    ::fsync(dirfd.get());
  return ok_status();
}

DIR* open_directory_at(int parent, const char* name) {
  int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return nullptr;
  DIR* d = ::fdopendir(fd);
  if (!d)
    ::close(fd);
  return d;
}

void create_private_directories(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> missing;
  struct stat st {};
  for (auto p = dir; !p.empty() && ::stat(p.c_str(), &st) != 0; p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path())
      break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    ::mkdir(it->c_str(), 0700);
  if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
      (st.st_mode & 077) != 0)
    ::chmod(dir.c_str(), 0700);
}

std::optional<std::filesystem::path> find_upwards(const std::filesystem::path& start,
                                                  std::string_view marker) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(start, ec).lexically_normal();
  if (ec)
    return std::nullopt;
  for (int depth = 0; depth < 256; ++depth) {
    if (std::filesystem::is_directory(dir / marker, ec))
      return dir;
    if (!dir.has_parent_path() || dir.parent_path() == dir)
      break;
    dir = dir.parent_path();
  }
  return std::nullopt;
}

std::string relative_display(const std::filesystem::path& path, const std::filesystem::path& base) {
  // The common case, a normalised path under a normalised base, without path arithmetic.
  const auto &p = path.native(), &b = base.native();
  if (p.size() > b.size() + 1 && p.compare(0, b.size(), b) == 0 && p[b.size()] == '/' &&
      p.find("/./", b.size()) == std::string::npos &&
      p.find("/../", b.size()) == std::string::npos && p.find("//", b.size()) == std::string::npos)
    return p.substr(b.size() + 1);
  auto rel = path.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    return path.string();
  return rel.string();
}

Error errno_error(std::string_view what) {
  return make_error(ErrorKind::io, fmt::format("{}: {}", what, std::strerror(errno)));
}

} // namespace kb::util
