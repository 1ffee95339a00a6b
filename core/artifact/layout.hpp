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

// The first folder between `.kodebase/artifacts/` and `file` that is named like an artifact
// (`<ID>` or `<ID>.<slug>`) other than `id` or one of its ancestors: `B.1.x/A.1.1.y.yml` is
// filed under B.1 although its ID makes it A.1's. nullopt when every such folder fits.
std::optional<ArtifactId> foreign_folder(const std::filesystem::path& file, const ArtifactId& id);

// An entry of the artifacts folder that is not read, and why.
struct RefusedEntry {
  std::filesystem::path path;
  std::optional<ArtifactId> id; // when its name is an artifact's
  std::string message;
};

// What a walk of the artifacts folder found.
struct Discovery {
  std::vector<DiscoveredFile> files;              // sorted by path
  std::vector<RefusedEntry> refused;              // sorted by path
  std::vector<std::filesystem::path> temporaries; // kodebase's temporaries (see is_temporary_name)
};

// Every artifact file below `artifacts_dir`. Entries whose name starts with `.` are skipped
// (files and directories); only `.yml` files are considered. Discovery is by file name alone,
// so folder names do not matter. Links are never followed into folders (a link to a folder
// is refused, so no walk can loop or leave the tree); a link named like an artifact is read
// only when it resolves to a regular file inside the artifacts folder. FIFOs, devices and
// sockets named like artifacts, names that are not UTF-8 and folders nested deeper than 32
// are refused too. Unreadable folders are skipped.
Discovery discover(const std::filesystem::path& artifacts_dir);

// What discover() would say of the one file `file` (not a folder) below `artifacts_dir`: for
// reading a changed file again by the same rules.
Discovery discover_one(const std::filesystem::path& artifacts_dir,
                       const std::filesystem::path& file);

// Whether a file name is one of kodebase's temporaries: `.<name>.kb-tmp` (a transaction's)
// or `.<name>.tmp-XXXXXX` (an atomic write's).
bool is_temporary_name(std::string_view name);

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
