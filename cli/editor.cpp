#include "cli/editor.hpp"
#include "core/util/fd.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kb::cli {

namespace fs = std::filesystem;

namespace {

std::string editor_command() {
  for (const char* name : {"VISUAL", "EDITOR"})
    if (const char* v = std::getenv(name); v && *v)
      return v;
  return "vi";
}

// Runs `editor file` through sh, so EDITOR may carry arguments ("code --wait").
util::Status run_editor(const std::string& editor, const fs::path& file) {
  std::string script = editor + " \"$1\"";
  std::string path = file.string();
  const char* argv[] = {"sh", "-c", script.c_str(), "sh", path.c_str(), nullptr};
  pid_t pid = -1;
  if (int rc = ::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ);
      rc != 0)
    return util::make_error(util::ErrorKind::unavailable,
                            fmt::format("cannot run the editor: {}", std::strerror(rc)));
  if (int code = util::wait_exit_code(pid); code != 0)
    return util::make_error(
        util::ErrorKind::failed,
        fmt::format("the editor '{}' failed (exit status {}); nothing was created", editor, code),
        {{"hint", "set VISUAL or EDITOR to an editor that waits until you close the file"}});
  return util::ok_status();
}

} // namespace

util::Result<EditedText> edit_text(const std::string& initial, const std::string& suffix) {
  std::error_code ec;
  fs::path dir = fs::temp_directory_path(ec);
  if (ec)
    dir = "/tmp";
  std::string pattern = (dir / ("kodebase-XXXXXX" + suffix)).string();
  int fd = ::mkstemps(pattern.data(), static_cast<int>(suffix.size()));
  if (fd < 0)
    return util::make_error(
        util::ErrorKind::unavailable,
        fmt::format("cannot create a file to edit in {}: {}", dir.string(), std::strerror(errno)));
  bool written =
      ::write(fd, initial.data(), initial.size()) == static_cast<ssize_t>(initial.size());
  ::close(fd);
  fs::path file = pattern;
  if (!written)
    return util::make_error(util::ErrorKind::unavailable,
                            fmt::format("cannot write {}", file.string()));
  auto editor = editor_command();
  if (auto st = run_editor(editor, file); !st) {
    fs::remove(file, ec);
    return st.error();
  }
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text == initial) {
    fs::remove(file, ec);
    return util::make_error(util::ErrorKind::invalid_argument,
                            "aborted: the template was saved unchanged; nothing was created");
  }
  return EditedText{std::move(text), file};
}

} // namespace kb::cli
