#include "core/repo/store.hpp"

#include "core/util/file.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace kb::repo {

namespace fs = std::filesystem;

namespace {

fs::path journal_path(const Project& p) {
  return p.kodebase_dir() / ".journal";
}

util::Error io(std::string what) {
  return util::make_error(util::ErrorKind::io, fmt::format("{}: {}", what, std::strerror(errno)));
}

// Writes `contents` to a new dot-named temporary next to `target` and syncs it.
util::Result<fs::path> write_temp(const fs::path& target, const std::string& contents) {
  std::string tmpl =
      (target.parent_path() / ("." + target.filename().string() + ".kb-XXXXXX")).string();
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0)
    return io(fmt::format("cannot create a file in {}", target.parent_path().string()));
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto e = io(fmt::format("cannot write {}", tmpl));
      ::close(fd);
      ::unlink(tmpl.c_str());
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) {
    auto e = io(fmt::format("cannot sync {}", tmpl));
    ::close(fd);
    ::unlink(tmpl.c_str());
    return e;
  }
  ::close(fd);
  return fs::path(tmpl);
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

} // namespace

util::Result<WriteLock> WriteLock::acquire(const Project& project, int timeout_ms) {
  auto path = project.kodebase_dir() / ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return io(fmt::format("cannot open the lock file {}", path.string()));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      auto e = io(fmt::format("cannot lock {}", path.string()));
      ::close(fd);
      return e;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::close(fd);
      return util::make_error(util::ErrorKind::unavailable,
                              fmt::format("another kodebase process has held {} for {} s",
                                          path.string(), timeout_ms / 1000),
                              {{"hint", "wait for it to finish, then try again"}});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  WriteLock lock(fd);
  // Projects made before `init` wrote it still get the ignore file for the lock.
  if (auto ignore = project.kodebase_dir() / ".gitignore"; !fs::exists(ignore))
    (void)util::write_file_atomic(ignore, k_gitignore);
  if (auto st = recover(project); !st)
    return st.error();
  return lock;
}

WriteLock::~WriteLock() {
  if (m_fd >= 0)
    ::close(m_fd); // closing releases the flock
}

void Transaction::put(fs::path target, std::string contents) {
  for (auto& [t, c] : m_files)
    if (t == target) {
      c = std::move(contents);
      return;
    }
  m_files.emplace_back(std::move(target), std::move(contents));
}

util::Status Transaction::commit(const Project& project) {
  std::vector<std::pair<fs::path, fs::path>> renames;
  auto discard = [&] {
    for (auto& [tmp, _] : renames)
      ::unlink(tmp.c_str());
  };
  for (const auto& [target, contents] : m_files) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    auto tmp = write_temp(target, contents);
    if (!tmp) {
      discard();
      return tmp.error();
    }
    renames.emplace_back(*tmp, target);
  }
  std::string journal;
  for (const auto& [tmp, target] : renames)
    journal += tmp.string() + "\t" + target.string() + "\n";
  journal += "commit\n";
  if (auto st = util::write_file_atomic(journal_path(project), journal); !st) {
    discard();
    return st.error();
  }
  // Committed: from here on, recovery rolls forward.
  for (const auto& [tmp, target] : renames)
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      return io(fmt::format("cannot move {} into place", target.string()));
  for (const auto& [tmp, target] : renames)
    sync_dir(target.parent_path());
  ::unlink(journal_path(project).c_str());
  return util::ok_status();
}

namespace {

// Temporaries of a writer killed before it wrote its journal: nothing refers to them, and no
// writer is active while we hold the lock.
void sweep_orphans(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.starts_with(".") && name.find(".kb-") != std::string::npos && it->is_regular_file(ec))
      fs::remove(it->path(), ec);
  }
}

} // namespace

util::Status recover(const Project& project) {
  auto text = util::read_file(journal_path(project));
  if (!text) {
    sweep_orphans(project.artifacts_dir());
    return util::ok_status(); // nothing was interrupted
  }
  bool committed = text->ends_with("commit\n");
  size_t pos = 0;
  while (pos < text->size()) {
    auto nl = text->find('\n', pos);
    auto line = text->substr(pos, nl - pos);
    pos = nl == std::string::npos ? text->size() : nl + 1;
    auto tab = line.find('\t');
    if (tab == std::string::npos)
      continue;
    fs::path tmp = line.substr(0, tab), target = line.substr(tab + 1);
    if (!fs::exists(tmp))
      continue; // already renamed
    if (committed) {
      if (::rename(tmp.c_str(), target.c_str()) != 0)
        return io(fmt::format("cannot finish an interrupted write of {}", target.string()));
    } else {
      ::unlink(tmp.c_str());
    }
  }
  ::unlink(journal_path(project).c_str());
  return util::ok_status();
}

} // namespace kb::repo
