#pragma once

#include "core/artifact/id.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kb::artifact {

// Where artifacts live inside a project root.
inline constexpr std::string_view k_project_dir = ".kodebase";
inline constexpr std::string_view k_artifacts_subdir = ".kodebase/artifacts";

// An artifact file found on disk.
struct DiscoveredFile {
  ArtifactId id;
  std::filesystem::path path;
};

// The artifact ID a file name stands for: `<ID>.yml` or `<ID>.<slug>.yml`, where the slug
// starts with a letter or digit and holds letters, digits, `.` and `-`. nullopt otherwise
// (other extensions, `.yaml`, dot-files).
std::optional<ArtifactId> id_from_filename(std::string_view name);

// Every artifact file below `artifacts_dir`, sorted by path. Entries whose name starts with
// `.` are skipped (files and directories); only `.yml` files are considered. Unreadable
// directories are skipped. Discovery is by file name alone, so folder names do not matter.
std::vector<DiscoveredFile> discover(const std::filesystem::path& artifacts_dir);

// A file-name slug: lower case, runs of other characters become `-`, no leading or trailing
// `-`, at most 60 characters (cut at a `-` when possible).
std::string slugify(std::string_view title);

// Where a new artifact goes. Initiatives get a folder `<ID>.<slug>/<ID>.yml`; milestones a
// folder `<ID>.<slug>/<ID>.yml` inside their initiative's folder; issues a file
// `<ID>.<slug>.yml` next to their milestone's file. `parent_file` is the parent's file
// (required for milestones and issues).
std::filesystem::path path_for_new(const std::filesystem::path& artifacts_dir, const ArtifactId& id,
                                   std::string_view slug,
                                   const std::optional<std::filesystem::path>& parent_file);

} // namespace kb::artifact
