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
  // `path` relative to the root, for display and JSON.
  std::string relative(const std::filesystem::path& path) const;
};

// Contents of `.kodebase/.gitignore`: kodebase's local files (lock, journal).
extern const std::string_view k_gitignore;

// The project containing `start`: the nearest folder at or above it holding `.kodebase/`.
// Fails with not_project (and a hint to run `kodebase init`) when there is none.
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
