#include "core/repo/project.hpp"

#include "core/util/file.hpp"

#include "core/util/text.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace kb::repo {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_default_settings = R"(# kodebase project settings (see `man kodebase`)
version: "1.0"
)";

} // namespace

const std::string_view k_gitignore = "/.lock\n/.journal\n*.kb-tmp\n.*.tmp-*\n";

void ensure_gitignore(const Project& project) {
  auto path = project.kodebase_dir() / ".gitignore";
  auto text = util::read_file(path, {.max_bytes = 1 << 20, .follow_links = false});
  if (!text && text.error().kind != util::ErrorKind::not_found)
    return; // not a file kodebase wrote: left as it is
  std::string next = text ? *text : std::string();
  for (const auto& line : util::lines_of(k_gitignore))
    if (next.find(line + "\n") != 0 && next.find("\n" + line + "\n") == std::string::npos) {
      if (!next.empty() && next.back() != '\n')
        next += '\n';
      next += line + "\n";
    }
  if (!text || next != *text)
    (void)util::write_file_atomic(path, next);
}

std::string Project::relative(const fs::path& path) const {
  // A cloned repository may name files with any bytes: shown (and put in JSON) as UTF-8.
  return util::printable_utf8(util::relative_display(path, root));
}

util::Result<Project> find_project(const fs::path& start) {
  std::error_code ec;
  if (!fs::is_directory(start, ec))
    return util::make_error(util::ErrorKind::not_project,
                            fmt::format("{} is not a directory", start.string()));
  if (auto root = util::find_upwards(start, ".kodebase")) {
    Project project{*root};
    // A cloned repository may make these links to anywhere: never followed.
    for (const auto& dir : {project.kodebase_dir(), project.artifacts_dir()}) {
      struct stat st {};
      if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        return util::make_error(
            util::ErrorKind::failed,
            fmt::format("{} is a symbolic link; kodebase does not follow links out of a project",
                        dir.string()),
            {{"hint", "replace the link with the folder itself"}});
    }
    return project;
  }
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
  KB_TRY(util::write_file_atomic(keep, ""));
  // The write lock and the transaction journal are local state, never committed.
  KB_TRY(util::write_file_atomic(p.kodebase_dir() / ".gitignore", k_gitignore));
  KB_TRY(util::write_file_atomic(p.settings_file(), k_default_settings));
  result.created_paths.push_back(p.settings_file());
  result.created = true;
  return result;
}

} // namespace kb::repo
