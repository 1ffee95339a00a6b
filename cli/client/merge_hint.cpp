#include "cli/client/merge_hint.hpp"

#include "core/protocol/runtime.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace kb::cli::client {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path, std::size_t cap = 1 << 20) {
  std::ifstream in(path, std::ios::binary);
  std::string out(cap, '\0');
  in.read(out.data(), static_cast<std::streamsize>(cap));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

// The nearest folder at or above `from` that holds `name` (a file or folder), or "".
fs::path upwards(fs::path from, const char* name) {
  std::error_code ec;
  for (int depth = 0; depth < 256 && !from.empty(); ++depth) {
    if (fs::exists(fs::symlink_status(from / name, ec)))
      return from;
    if (from == from.parent_path())
      break;
    from = from.parent_path();
  }
  return {};
}

// The git config file of the repository around `top` (a worktree's is its main one's).
fs::path config_of(const fs::path& top) {
  std::error_code ec;
  fs::path git = top / ".git";
  if (fs::is_directory(git, ec))
    return git / "config";
  auto text = slurp(git, 4096); // a worktree: "gitdir: <dir>"
  if (!text.starts_with("gitdir: "))
    return {};
  fs::path dir = text.substr(8, text.find_first_of("\r\n") - 8);
  if (dir.is_relative())
    dir = top / dir;
  auto common = slurp(dir / "commondir", 4096);
  common = common.substr(0, common.find_first_of("\r\n"));
  if (!common.empty())
    dir = fs::path(common).is_relative() ? dir / common : fs::path(common);
  return dir / "config";
}

} // namespace

void hint_merge_driver(const fs::path& directory) {
  auto root = upwards(directory, ".kodebase");
  if (root.empty() || slurp(root / ".gitattributes").find("merge=kodebase") == std::string::npos)
    return;
  auto top = upwards(root, ".git");
  if (top.empty())
    return;
  auto config = config_of(top);
  if (config.empty() || slurp(config).find("[merge \"kodebase\"]") != std::string::npos)
    return;
  auto told = protocol::state_dir() / "merge-driver-hinted";
  auto list = slurp(told);
  auto line = top.string() + "\n";
  if (list.find(line) != std::string::npos)
    return;
  std::fprintf(stderr,
               "hint: this clone does not merge artifact files with kodebase's merge driver yet;\n"
               "hint: run `kodebase hooks install` once here, so parallel branches merge without "
               "conflicts\n");
  std::error_code ec;
  fs::create_directories(told.parent_path(), ec);
  std::ofstream(told, std::ios::app) << line;
}

} // namespace kb::cli::client
