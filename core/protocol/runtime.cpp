#include "core/protocol/runtime.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace kb::protocol {

namespace fs = std::filesystem;

namespace {

// Whether `dir` is safe to hold our socket: a directory we own that nobody else can enter.
bool check_private_dir(const fs::path& dir, bool create, std::string& error) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) {
      error = "cannot use " + dir.string() + ": " + std::strerror(errno);
      return false;
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      error = "cannot create " + dir.string() + ": " + std::strerror(errno);
      return false;
    }
    if (::lstat(dir.c_str(), &st) != 0) {
      error = "cannot use " + dir.string() + ": " + std::strerror(errno);
      return false;
    }
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    error = dir.string() + " is not a directory (a symlink or a file is refused)";
    return false;
  }
  if (st.st_uid != ::geteuid()) {
    error = dir.string() + " belongs to another user";
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    error = dir.string() + " is accessible to other users; run `chmod 700 " + dir.string() + "`";
    return false;
  }
  return true;
}

} // namespace

fs::path state_dir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  fs::path base = state && *state ? fs::path(state) : fs::path(home ? home : "/") / ".local/state";
  return base / "kodebase";
}

fs::path cache_dir() {
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  fs::path base = cache && *cache ? fs::path(cache) : fs::path(home ? home : "/") / ".cache";
  return base / "kodebase";
}

std::optional<RuntimePaths> runtime_paths(bool create, std::string& error) {
  fs::path dir;
  if (const char* env = std::getenv("KODEBASE_RUNTIME_DIR"); env && *env) {
    dir = env;
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR");
             xdg && *xdg && fs::path(xdg).is_absolute()) {
    dir = fs::path(xdg) / "kodebase";
  } else {
    dir = fs::path("/tmp") / ("kodebase-" + std::to_string(::geteuid()));
  }
  if (!check_private_dir(dir, create, error))
    return std::nullopt;
  RuntimePaths paths{dir, dir / "daemon.sock", dir / "daemon.lock", dir / "github.sock"};
  if (paths.socket.native().size() >= sizeof(sockaddr_un{}.sun_path)) {
    error = "the socket path " + paths.socket.string() + " is longer than the " +
            std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
            " bytes a Unix socket allows; set KODEBASE_RUNTIME_DIR to a shorter directory";
    return std::nullopt;
  }
  return paths;
}

} // namespace kb::protocol
