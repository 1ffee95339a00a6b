#pragma once

#include "core/util/result.hpp"

#include <filesystem>
#include <vector>

namespace kb::repo {

// A kodebase project on disk: the folder that holds `.kodebase/`.
struct Project {
  std::filesystem::path root;

  std::filesystem::path kodebase_dir() const { return root / ".kodebase"; }
  std::filesystem::path artifacts_dir() const { return root / ".kodebase" / "artifacts"; }
  std::filesystem::path settings_file() const {
    return root / ".kodebase" / "config" / "settings.yml";
  }
  // `path` relative to the root, for display and JSON (bytes that are not UTF-8 as `\xNN`).
  std::string relative(const std::filesystem::path& path) const;
};

// Contents of `.kodebase/.gitignore`: kodebase's local files (lock, journal, temporaries).
extern const std::string_view k_gitignore;

// Writes `.kodebase/.gitignore`, or adds the lines of k_gitignore it lacks (projects made by
// older versions). Best effort: a failure leaves the file as it was.
void ensure_gitignore(const Project& project);

// The project containing `start`: the nearest folder at or above it holding `.kodebase/`.
// Fails with not_project (and a hint to run `kodebase init`) when there is none, and with
// failed when `.kodebase/` or its artifacts folder is a symbolic link.
util::Result<Project> find_project(const std::filesystem::path& start);

// What `init` did.
struct InitResult {
  Project project;
  bool created = false; // false when it was a project already
  std::vector<std::filesystem::path> created_paths;
};

// Makes `dir` a project: `.kodebase/artifacts/` and `.kodebase/config/settings.yml`. Leaves an
// existing project untouched (created = false). `dir` must exist.
util::Result<InitResult> init_project(const std::filesystem::path& dir);

} // namespace kb::repo
