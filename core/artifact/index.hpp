#pragma once

#include "core/artifact/layout.hpp"
#include "core/artifact/model.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kb::artifact {

// A file that could not be read as an artifact, or a clash between files.
struct FileProblem {
  std::filesystem::path path;
  std::optional<ArtifactId> id;
  // YAML_SYNTAX_ERROR, DUPLICATE_KEY, YAML_ALIAS_LIMIT, INVALID_DOCUMENT, INVALID_UTF8,
  // BINARY_CONTENT, FILE_TOO_LARGE, FILE_UNREADABLE, UNSAFE_FILE, INVALID_PATH, DUPLICATE_ID,
  // CONFLICT (the artifact may still be read: see Artifact::conflict_line)
  std::string code;
  std::string message;
  Mark mark;
};

// How much of a file the reader takes.
struct ReadLimits {
  std::uintmax_t max_file_bytes = 4ull << 20; // larger artifact files are FILE_TOO_LARGE
};

// Reads one artifact file; a broken file becomes a FileProblem, never an exception.
std::variant<Artifact, FileProblem> read_artifact_file(const DiscoveredFile& file,
                                                       const ReadLimits& limits = {});

// Parses artifact text that claims to be `id` at `path` (used by the reader and by tests). A
// UTF-8 byte order mark and CRLF line ends are read; text that is not UTF-8 or holds control
// characters is refused (INVALID_UTF8, BINARY_CONTENT) with the line and column of the byte.
// Text with conflict markers is read from its own side (conflict_line set), or is a CONFLICT
// problem when that side does not parse.
std::variant<Artifact, FileProblem>
read_artifact_text(const ArtifactId& id, const std::filesystem::path& path, std::string_view text);

// The problem a refused entry of discovery stands for (UNSAFE_FILE or INVALID_PATH).
FileProblem refused_problem(const RefusedEntry& entry);

// Every artifact of a project in natural ID order, plus the files that could not be used.
class ArtifactIndex {
public:
  using Map = std::map<ArtifactId, Artifact>;

  // Adds an artifact. A second file with the same ID is recorded as DUPLICATE_ID and kept
  // among duplicates() (listed, never silently dropped); a file with conflict markers is
  // added and recorded as CONFLICT.
  void add(Artifact artifact);
  void add_problem(FileProblem problem) { m_problems.push_back(std::move(problem)); }
  // Forgets what was read from `path` (its artifact or problem), for re-reading one file.
  void remove_path(const std::filesystem::path& path);
  // Puts problems in path order, the order a full load gives.
  void sort_problems();

  const Artifact* find(const ArtifactId& id) const;
  const Artifact* find(std::string_view id) const;
  const Map& all() const { return m_artifacts; }
  // Artifacts whose ID another file had already, in the order they were added.
  const std::vector<Artifact>& duplicates() const { return m_duplicates; }
  size_t size() const { return m_artifacts.size(); }
  const std::vector<FileProblem>& problems() const { return m_problems; }

  // Direct children of `id` in natural order.
  std::vector<const Artifact*> children(const ArtifactId& id) const;
  // Every descendant of `id` in natural order.
  std::vector<const Artifact*> descendants(const ArtifactId& id) const;
  // Artifacts whose `blocked_by` names `id`.
  std::vector<const Artifact*> dependents(const ArtifactId& id) const;
  // Every ID a file name claims, readable or not, for next-ID allocation.
  std::vector<ArtifactId> ids() const;

private:
  Map m_artifacts;
  std::vector<Artifact> m_duplicates;
  std::vector<FileProblem> m_problems;
  mutable std::map<std::string, std::vector<const Artifact*>> m_dependents; // built lazily
  mutable bool m_dependents_built = false;
};

// Discovers and reads every artifact under `artifacts_dir` (missing dir → empty index), parsing
// on up to `workers` threads (the calling thread included). Entries discovery refuses become
// problems; kodebase's temporaries found on the way go to `temporaries` when given.
ArtifactIndex load_index(const std::filesystem::path& artifacts_dir, const ReadLimits& limits = {},
                         std::vector<std::filesystem::path>* temporaries = nullptr,
                         unsigned workers = std::thread::hardware_concurrency());

} // namespace kb::artifact
