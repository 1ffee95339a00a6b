#include "core/repo/project.hpp"

#include "core/util/file.hpp"

#include <fmt/format.h>

namespace kb::repo {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_default_settings = R"(# kodebase project settings (see `man kodebase`)
version: "1.0"
)";

} // namespace

const std::string_view k_gitignore = "/.lock\n/.journal\n";

std::string Project::relative(const fs::path& path) const {
  return util::relative_display(path, root);
}

util::Result<Project> find_project(const fs::path& start) {
  std::error_code ec;
  if (!fs::is_directory(start, ec))
    return util::make_error(util::ErrorKind::not_project,
                            fmt::format("{} is not a directory", start.string()));
  if (auto root = util::find_upwards(start, ".kodebase"))
    return Project{*root};
  return util::make_error(
      util::ErrorKind::not_project,
      fmt::format("no kodebase project in {} or any parent directory", start.string()),
      {{"hint", "run `kodebase init` at the root of your repository to create .kodebase/"}});
}

util::Result<InitResult> init_project(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("{} is not a directory", dir.string()));
  InitResult result{Project{fs::absolute(dir).lexically_normal()}, false, {}};
  const Project& p = result.project;
  if (fs::is_directory(p.kodebase_dir(), ec))
    return result;
  for (const auto& d : {p.artifacts_dir(), p.settings_file().parent_path()}) {
    fs::create_directories(d, ec);
    if (ec)
      return util::make_error(util::ErrorKind::io,
                              fmt::format("cannot create {}: {}", d.string(), ec.message()));
    result.created_paths.push_back(d);
  }
  // git does not keep empty folders; the dot-file keeps artifacts/ and is skipped by discovery.
  auto keep = p.artifacts_dir() / ".gitkeep";
  if (auto st = util::write_file_atomic(keep, ""); !st)
    return st.error();
  // The write lock and the transaction journal are local state, never committed.
  if (auto st = util::write_file_atomic(p.kodebase_dir() / ".gitignore", k_gitignore); !st)
    return st.error();
  if (auto st = util::write_file_atomic(p.settings_file(), k_default_settings); !st)
    return st.error();
  result.created_paths.push_back(p.settings_file());
  result.created = true;
  return result;
}

} // namespace kb::repo
