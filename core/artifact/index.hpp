#pragma once

#include "core/artifact/layout.hpp"
#include "core/artifact/model.hpp"

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
  std::string code; // YAML_SYNTAX_ERROR, INVALID_DOCUMENT, DUPLICATE_ID, FILE_UNREADABLE
  std::string message;
  Mark mark;
};

// Reads one artifact file; a broken file becomes a FileProblem, never an exception.
std::variant<Artifact, FileProblem> read_artifact_file(const DiscoveredFile& file);

// Parses artifact text that claims to be `id` at `path` (used by the reader and by tests).
std::variant<Artifact, FileProblem>
read_artifact_text(const ArtifactId& id, const std::filesystem::path& path, std::string_view text);

// Every artifact of a project in natural ID order, plus the files that could not be used.
class ArtifactIndex {
public:
  using Map = std::map<ArtifactId, Artifact>;

  // Adds an artifact; a second file with the same ID is recorded as DUPLICATE_ID and ignored.
  void add(Artifact artifact);
  void add_problem(FileProblem problem) { m_problems.push_back(std::move(problem)); }
  // Forgets what was read from `path` (its artifact or problem), for re-reading one file.
  void remove_path(const std::filesystem::path& path);
  // Puts problems in path order, the order a full load gives.
  void sort_problems();

  const Artifact* find(const ArtifactId& id) const;
  const Artifact* find(std::string_view id) const;
  const Map& all() const { return m_artifacts; }
  size_t size() const { return m_artifacts.size(); }
  const std::vector<FileProblem>& problems() const { return m_problems; }

  // Direct children of `id` in natural order.
  std::vector<const Artifact*> children(const ArtifactId& id) const;
  // Every descendant of `id` in natural order.
  std::vector<const Artifact*> descendants(const ArtifactId& id) const;
  // Artifacts whose `blocked_by` names `id`.
  std::vector<const Artifact*> dependents(const ArtifactId& id) const;
  // All IDs, for next-ID allocation.
  std::vector<ArtifactId> ids() const;

private:
  Map m_artifacts;
  std::vector<FileProblem> m_problems;
  mutable std::map<std::string, std::vector<const Artifact*>> m_dependents; // built lazily
  mutable bool m_dependents_built = false;
};

// Discovers and reads every artifact under `artifacts_dir` (missing dir → empty index), parsing
// on up to `workers` threads (the calling thread included).
ArtifactIndex load_index(const std::filesystem::path& artifacts_dir,
                         unsigned workers = std::thread::hardware_concurrency());

} // namespace kb::artifact
