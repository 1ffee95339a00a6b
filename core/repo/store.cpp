#include "core/repo/store.hpp"

#include "core/util/file.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace kb::repo {

namespace fs = std::filesystem;

namespace {

fs::path journal_path(const Project& p) {
  return p.kodebase_dir() / ".journal";
}

util::Error io(std::string what) {
  return util::make_error(util::ErrorKind::io, fmt::format("{}: {}", what, std::strerror(errno)));
}

// The temporary that new contents of `target` are written to.
fs::path temp_for(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".kb-tmp");
}

// Writes all of `contents` to a new version of `path` (created or truncated); with `sync`,
// fsync'ed too.
util::Status write_whole(const fs::path& path, std::string_view contents, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io(fmt::format("cannot create {}", path.string()));
  while (!contents.empty()) {
    ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto e = io(fmt::format("cannot write {}", path.string()));
      ::close(fd);
      return e;
    }
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (sync && ::fsync(fd) != 0) {
    auto e = io(fmt::format("cannot sync {}", path.string()));
    ::close(fd);
    return e;
  }
  ::close(fd);
  return util::ok_status();
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// fsyncs every path (files or directories) at once, one thread each: the file system folds
// concurrent syncs into shared journal commits, so a few files cost about one sync, not one
// each. Returns the first failure.
util::Status sync_all(const std::vector<fs::path>& paths) {
  std::vector<int> errors(paths.size(), 0);
  auto sync_one = [&](size_t i) {
    int fd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0)
      errors[i] = errno;
    if (fd >= 0)
      ::close(fd);
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t i = 1; i < paths.size(); ++i)
      helpers.emplace_back(sync_one, i);
    if (!paths.empty())
      sync_one(0);
  }
  for (size_t i = 0; i < paths.size(); ++i)
    if (errors[i] != 0) {
      errno = errors[i];
      return io(fmt::format("cannot sync {}", paths[i].string()));
    }
  return util::ok_status();
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

namespace {

// The project's journal. The file stays between transactions (empty: nothing in flight), so a
// commit syncs this one file, never the directory it sits in.
class JournalFile {
public:
  static util::Result<JournalFile> open(const Project& project) {
    auto path = journal_path(project);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0)
      sync_dir(path.parent_path()); // new: its name must survive a crash too
    else if (errno == EEXIST)
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return io(fmt::format("cannot open {}", path.string()));
    return JournalFile(fd);
  }
  JournalFile(JournalFile&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  JournalFile& operator=(JournalFile&&) = delete;
  ~JournalFile() {
    if (m_fd >= 0)
      ::close(m_fd);
  }

  // The transaction's files. Not synced: the intent only matters to a process killed before
  // the commit point, and the page cache outlives processes. (After a power loss, stray
  // temporaries stay: hidden, never read, overwritten by the next write of their file.)
  util::Status write_intent(std::string_view text) {
    m_size = text.size();
    return write_at(text, 0, false);
  }
  // Appends the commit line and syncs: the commit point.
  util::Status commit() { return write_at("commit\n", m_size, true); }
  // Nothing in flight any more.
  void clear() { (void)::ftruncate(m_fd, 0); }

private:
  explicit JournalFile(int fd) : m_fd(fd) {}

  util::Status write_at(std::string_view text, size_t offset, bool sync) {
    if (::ftruncate(m_fd, static_cast<off_t>(offset)) != 0)
      return io("cannot write the journal");
    while (!text.empty()) {
      ssize_t n = ::pwrite(m_fd, text.data(), text.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return io("cannot write the journal");
      text.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<size_t>(n);
    }
    if (sync && ::fdatasync(m_fd) != 0)
      return io("cannot sync the journal");
    return util::ok_status();
  }

  int m_fd = -1;
  size_t m_size = 0;
};

} // namespace

util::Status Transaction::commit(const Project& project) {
  auto journal = JournalFile::open(project);
  if (!journal)
    return journal.error();
  std::string intent;
  for (const auto& [target, _] : m_files)
    intent += temp_for(target).string() + "\t" + target.string() + "\n";
  auto discard = [&] {
    for (const auto& [target, _] : m_files)
      ::unlink(temp_for(target).c_str());
    journal->clear();
  };
  if (auto st = journal->write_intent(intent); !st)
    return st.error();
  std::set<fs::path> dirs;
  std::vector<fs::path> temps;
  for (const auto& [target, contents] : m_files) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    temps.push_back(temp_for(target));
    if (auto st = write_whole(temps.back(), contents, false); !st) {
      discard();
      return st.error();
    }
    dirs.insert(target.parent_path());
  }
  if (auto st = sync_all(temps); !st) {
    discard();
    return st.error();
  }
  if (auto st = journal->commit(); !st) {
    discard();
    return st.error();
  }
  // Committed: from here on, recovery rolls forward.
  for (const auto& [target, _] : m_files)
    if (::rename(temp_for(target).c_str(), target.c_str()) != 0)
      return io(fmt::format("cannot move {} into place", target.string()));
  (void)sync_all({dirs.begin(), dirs.end()});
  journal->clear();
  return util::ok_status();
}

util::Status recover(const Project& project) {
  auto text = util::read_file(journal_path(project));
  if (!text || text->empty())
    return util::ok_status(); // nothing was interrupted
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
    if (tmp != temp_for(target) || !fs::exists(tmp))
      continue; // already renamed, or a line cut short by the kill
    if (committed) {
      if (::rename(tmp.c_str(), target.c_str()) != 0)
        return io(fmt::format("cannot finish an interrupted write of {}", target.string()));
      sync_dir(target.parent_path());
    } else {
      ::unlink(tmp.c_str());
    }
  }
  (void)::truncate(journal_path(project).c_str(), 0);
  return util::ok_status();
}

} // namespace kb::repo
