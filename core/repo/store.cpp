#include "core/repo/store.hpp"
#include "core/util/fd.hpp"

#include "core/artifact/layout.hpp"
#include "core/util/file.hpp"
#include "core/util/hmac.hpp"
#include "core/util/log.hpp"
#include "core/util/text.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace kb::repo {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_journal_header = "kodebase journal 2\n";
constexpr std::string_view k_commit_line = "commit\n";
constexpr std::string_view k_absent = "-"; // the hash of a file that does not exist

fs::path journal_path(const Project& p) {
  return p.kodebase_dir() / ".journal";
}

// The temporary that new contents of `target` are written to.
fs::path temp_for(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".kb-tmp");
}

// Writes all of `contents` to a new version of `path` (created or truncated, never through a
// link); with `sync`, fsync'ed too.
util::Status write_whole(const fs::path& path, std::string_view contents, bool sync) {
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd)
    return util::errno_error(fmt::format("cannot create {}", path.string()));
  if (!util::write_all(fd.get(), contents))
    return util::errno_error(fmt::format("cannot write {}", path.string()));
  if (sync && ::fsync(fd.get()) != 0)
    return util::errno_error(fmt::format("cannot sync {}", path.string()));
  return util::ok_status();
}

void sync_dir(const fs::path& dir) {
  if (util::Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); fd)
    ::fsync(fd.get());
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
    for (size_t i = 1; i < paths.size() && i < 16; ++i)
      helpers.emplace_back(sync_one, i);
    if (!paths.empty())
      sync_one(0);
  }
  for (size_t i = 16; i < paths.size(); ++i)
    sync_one(i);
  for (size_t i = 0; i < paths.size(); ++i)
    if (errors[i] != 0) {
      errno = errors[i];
      return util::errno_error(fmt::format("cannot sync {}", paths[i].string()));
    }
  return util::ok_status();
}

// What a file holds, as the journal records it: its SHA-256, "-" when it does not exist, or
// "?" when it is not a regular file (which matches nothing a change was computed from).
std::string content_hash(const fs::path& path) {
  auto text = util::read_file(path, {.max_bytes = 256ull << 20, .follow_links = false});
  if (text)
    return util::sha256_hex(*text);
  return text.error().kind == util::ErrorKind::not_found ? std::string(k_absent) : "?";
}

// A path in the journal: relative to the project root, with `%`, tab, CR and LF escaped so
// that any file name fits on one line.
std::string encode_path(std::string_view rel) {
  std::string out;
  for (char c : rel) {
    if (c == '%' || c == '\t' || c == '\n' || c == '\r')
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

// `path` relative to the project root, or nullopt when it is not below it.
std::optional<std::string> relative_to_root(const Project& project, const fs::path& path) {
  const auto &p = path.native(), &r = project.root.native();
  if (p.size() <= r.size() + 1 || p.compare(0, r.size(), r) != 0 || p[r.size()] != '/')
    return std::nullopt;
  return p.substr(r.size() + 1);
}

// One file of a transaction as the journal lists it.
struct JournalEntry {
  fs::path temp, target;
  std::string before, after; // content hashes
};

// A journal path read back: below `.kodebase/`, no `.`/`..` segments, no link on the way
// (a cloned repository may hold a crafted journal). nullopt when it is not such a path.
std::optional<fs::path> journal_target(const Project& project, std::string_view encoded) {
  fs::path rel = util::percent_decoded(encoded);
  if (rel.empty() || rel.is_absolute())
    return std::nullopt;
  auto it = rel.begin();
  if (*it != ".kodebase")
    return std::nullopt;
  fs::path at = project.root;
  for (const auto& part : rel) {
    if (part.empty() || part == "." || part == "..")
      return std::nullopt;
    at /= part;
    struct stat st {};
    if (::lstat(at.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && at != project.root / rel)
      return std::nullopt; // a folder on the way is a link
  }
  return project.root / rel;
}

// The entries of a journal's text; `valid` is false when any line is not one kodebase wrote.
// Lines of the first journal format (`temporary<TAB>file`, absolute paths, no hashes) give
// entries without hashes, whose temporaries can only be removed.
std::vector<JournalEntry> parse_journal(const Project& project, std::string_view text,
                                        bool& valid) {
  std::vector<JournalEntry> out;
  bool current = text.starts_with(k_journal_header);
  valid = current;
  if (current)
    text.remove_prefix(k_journal_header.size());
  for (const auto& line : util::lines_of(text)) {
    if (line + "\n" == k_commit_line)
      continue;
    std::vector<std::string> fields;
    std::string_view rest = line;
    for (size_t tab; (tab = rest.find('\t')) != std::string_view::npos;) {
      fields.emplace_back(rest.substr(0, tab));
      rest.remove_prefix(tab + 1);
    }
    fields.emplace_back(rest);
    if (!current && fields.size() == 2)
      for (auto& f : fields) // absolute paths in the first format
        f = relative_to_root(project, f).value_or("");
    size_t want = current ? 4 : 2;
    auto temp = fields.size() == want ? journal_target(project, fields[0]) : std::nullopt;
    auto target = fields.size() == want ? journal_target(project, fields[1]) : std::nullopt;
    bool hash_ok = !current || fields[3].size() == 64 || fields[3] == k_absent;
    if (!temp || !target || *temp != temp_for(*target) || !hash_ok) {
      valid = false;
      continue;
    }
    out.push_back({*temp, *target, current ? fields[2] : "", current ? fields[3] : ""});
  }
  return out;
}

// The journal's text, or "" when there is none; a journal that is not a regular file (a
// crafted link, FIFO or device) or is absurdly large is not kodebase's: it is removed.
std::string read_journal(const Project& project) {
  auto path = journal_path(project);
  auto text = util::read_file(path, {.max_bytes = 16ull << 20, .follow_links = false});
  if (text)
    return std::move(*text);
  if (text.error().kind != util::ErrorKind::not_found) {
    util::warn(fmt::format("removed {}: {}", path.string(), text.error().message));
    ::unlink(path.c_str());
  }
  return {};
}

// Removes kodebase's stray temporaries directly inside `dir` (not below it).
void remove_stray_temporaries(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return;
  std::vector<std::string> stray;
  while (dirent* e = ::readdir(d))
    if (artifact::is_temporary_name(e->d_name) && e->d_type != DT_DIR)
      stray.emplace_back(e->d_name);
  ::closedir(d);
  for (const auto& name : stray)
    ::unlink((dir / name).c_str());
}

// The project's journal. The file stays between transactions (empty: nothing in flight), so a
// commit syncs this one file, never the directory it sits in.
class JournalFile {
public:
  static util::Result<JournalFile> open(const Project& project) {
    auto path = journal_path(project);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0)
      sync_dir(path.parent_path()); // new: its name must survive a crash too
    else if (errno == EEXIST)
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
      return util::errno_error(fmt::format("cannot open {}", path.string()));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return util::make_error(util::ErrorKind::io,
                              fmt::format("{} is not a regular file", path.string()),
                              {{"hint", fmt::format("remove it: rm {}", path.string())}});
    }
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
  // temporaries stay: hidden, ignored by git, removed by the next full read.)
  util::Status write_intent(std::string_view text) {
    m_size = text.size();
    return write_at(text, 0, false);
  }
  // Appends the commit line and syncs: the commit point.
  util::Status commit() { return write_at(k_commit_line, m_size, true); }
  // Nothing in flight any more.
  void clear() { (void)::ftruncate(m_fd, 0); }

private:
  explicit JournalFile(int fd) : m_fd(fd) {}

  util::Status write_at(std::string_view text, size_t offset, bool sync) {
    if (::ftruncate(m_fd, static_cast<off_t>(offset)) != 0)
      return util::errno_error("cannot write the journal");
    while (!text.empty()) {
      ssize_t n = ::pwrite(m_fd, text.data(), text.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return util::errno_error("cannot write the journal");
      text.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<size_t>(n);
    }
    if (sync && ::fdatasync(m_fd) != 0)
      return util::errno_error("cannot sync the journal");
    return util::ok_status();
  }

  int m_fd = -1;
  size_t m_size = 0;
};

} // namespace

void Transaction::put(fs::path target, std::string contents) {
  for (auto& [t, c] : m_files)
    if (t == target) {
      c = std::move(contents);
      return;
    }
  m_files.emplace_back(std::move(target), std::move(contents));
}

void Transaction::remove(fs::path target) {
  for (auto& [t, c] : m_files)
    if (t == target) {
      c.reset();
      return;
    }
  m_files.emplace_back(std::move(target), std::nullopt);
}

util::Status Transaction::commit(const Project& project) {
  return run(project, m_files.size());
}

util::Status Transaction::commit_interrupted(const Project& project, size_t renames) {
  return run(project, renames);
}

util::Status Transaction::run(const Project& project, size_t renames) {
  std::string intent(k_journal_header);
  for (const auto& [target, contents] : m_files) {
    auto rel = relative_to_root(project, target);
    if (!rel || !rel->starts_with(".kodebase/"))
      return util::make_error(
          util::ErrorKind::internal,
          fmt::format("{} is not a file of the project's .kodebase folder", target.string()));
    auto temp = relative_to_root(project, temp_for(target));
    intent +=
        fmt::format("{}\t{}\t{}\t{}\n", encode_path(*temp), encode_path(*rel), content_hash(target),
                    contents ? util::sha256_hex(*contents) : std::string(k_absent));
  }
  auto journal = JournalFile::open(project);
  KB_TRY(journal);
  auto discard = [&] {
    for (const auto& [target, _] : m_files)
      ::unlink(temp_for(target).c_str());
    journal->clear();
  };
  KB_TRY(journal->write_intent(intent));
  std::set<fs::path> dirs;
  std::vector<fs::path> temps;
  for (const auto& [target, contents] : m_files) {
    dirs.insert(target.parent_path());
    if (!contents)
      continue; // deleted at the renames
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    temps.push_back(temp_for(target));
    if (auto st = write_whole(temps.back(), *contents, false); !st) {
      discard();
      return st.error();
    }
  }
  if (auto st = sync_all(temps); !st) {
    discard();
    return st.error();
  }
  if (auto st = journal->commit(); !st) {
    discard();
    return st.error();
  }
  // Committed: from here on, recovery finishes the change (where its files are unchanged).
  size_t done = 0;
  for (const auto& [target, contents] : m_files) {
    if (done++ == renames)
      return util::ok_status(); // a test's simulated kill
    if (!contents) {
      if (::unlink(target.c_str()) != 0 && errno != ENOENT)
        return util::errno_error(fmt::format("cannot delete {}", target.string()));
    } else if (::rename(temp_for(target).c_str(), target.c_str()) != 0) {
      return util::errno_error(fmt::format("cannot move {} into place", target.string()));
    }
  }
  (void)sync_all({dirs.begin(), dirs.end()});
  journal->clear();
  return util::ok_status();
}

util::Status recover(const Project& project) {
  remove_stray_temporaries(project.kodebase_dir());
  remove_stray_temporaries(project.settings_file().parent_path());
  auto text = read_journal(project);
  if (text.empty())
    return util::ok_status(); // nothing was interrupted
  bool valid = false;
  auto entries = parse_journal(project, text, valid);
  bool committed = text.ends_with(k_commit_line);
  auto remove_temporaries = [&] {
    for (const auto& e : entries)
      ::unlink(e.temp.c_str());
  };
  auto done = [&] {
    (void)::truncate(journal_path(project).c_str(), 0);
    return util::ok_status();
  };
  if (!valid) {
    // Not a journal this version wrote (an older format, or crafted): nothing in it is
    // trusted to move files, only its temporaries are removed.
    remove_temporaries();
    util::warn(fmt::format("discarded an interrupted change recorded in {}: the journal is "
                           "not in the form this version of kodebase writes",
                           journal_path(project).string()));
    return done();
  }
  if (!committed) {
    remove_temporaries(); // killed before its commit point: as if it never started
    return done();
  }
  // Finish the change only where every file is as the change left it or found it.
  std::vector<const JournalEntry*> pending;
  std::vector<std::string> changed;
  for (const auto& e : entries) {
    struct stat st {};
    bool deletion = e.after == k_absent;
    bool temp_there = !deletion && ::lstat(e.temp.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    auto now = content_hash(e.target);
    if (deletion ? now == e.before && now != k_absent
                 : temp_there && content_hash(e.temp) == e.after && now == e.before)
      pending.push_back(&e);
    else if (temp_there || now != e.after)
      changed.push_back(project.relative(e.target));
  }
  if (!changed.empty()) {
    remove_temporaries();
    util::warn(fmt::format(
        "discarded an interrupted change of {} file(s): {} changed since it was computed (an "
        "edit or a branch switch); nothing was overwritten",
        entries.size(), fmt::join(changed, ", ")));
    return done();
  }
  for (const auto* e : pending) {
    bool ok = e->after == k_absent ? ::unlink(e->target.c_str()) == 0
                                   : ::rename(e->temp.c_str(), e->target.c_str()) == 0;
    if (!ok)
      return util::errno_error(
          fmt::format("cannot finish an interrupted write of {}", e->target.string()));
    sync_dir(e->target.parent_path());
  }
  if (!pending.empty())
    util::warn(fmt::format("finished an interrupted change of {} file(s)", entries.size()));
  return done();
}

} // namespace kb::repo
