#include "core/artifact/index.hpp"

#include "core/util/file.hpp"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <thread>

namespace kb::artifact {

std::variant<Artifact, FileProblem>
read_artifact_text(const ArtifactId& id, const std::filesystem::path& path, std::string_view text) {
  auto doc = parse_yaml(text);
  if (!doc) {
    const auto& d = doc.error().details;
    Mark mark{d.value("line", 0), d.value("column", 0)};
    return FileProblem{path, id, "YAML_SYNTAX_ERROR",
                       fmt::format("YAML syntax error: {}", doc.error().message), mark};
  }
  if (!doc->is_mapping()) {
    std::string what =
        doc->is_null() ? "the file is empty" : fmt::format("the document is {}", doc->describe());
    return FileProblem{
        path, id, "INVALID_DOCUMENT",
        fmt::format("{}; an artifact file is a mapping with metadata and content", what),
        doc->mark};
  }
  return artifact_from_document(id, path, std::move(*doc));
}

std::variant<Artifact, FileProblem> read_artifact_file(const DiscoveredFile& file) {
  auto text = util::read_file(file.path);
  if (!text)
    return FileProblem{file.path, file.id, "FILE_UNREADABLE", text.error().message, {}};
  return read_artifact_text(file.id, file.path, *text);
}

void ArtifactIndex::add(Artifact artifact) {
  auto it = m_artifacts.find(artifact.id);
  if (it != m_artifacts.end()) {
    m_problems.push_back(FileProblem{
        artifact.path,
        artifact.id,
        "DUPLICATE_ID",
        fmt::format("{} is also defined by {}; this file is ignored until one is renamed",
                    artifact.id.str(), it->second.path.string()),
        {}});
    return;
  }
  m_dependents_built = false;
  auto id = artifact.id;
  m_artifacts.emplace(std::move(id), std::move(artifact));
}

void ArtifactIndex::remove_path(const std::filesystem::path& path) {
  for (auto it = m_artifacts.begin(); it != m_artifacts.end(); ++it)
    if (it->second.path == path) {
      m_artifacts.erase(it);
      break;
    }
  std::erase_if(m_problems, [&](const FileProblem& p) { return p.path == path; });
  m_dependents_built = false;
}

void ArtifactIndex::sort_problems() {
  std::stable_sort(
      m_problems.begin(), m_problems.end(),
      [](const FileProblem& a, const FileProblem& b) { return a.path.native() < b.path.native(); });
}

const Artifact* ArtifactIndex::find(const ArtifactId& id) const {
  auto it = m_artifacts.find(id);
  return it == m_artifacts.end() ? nullptr : &it->second;
}

const Artifact* ArtifactIndex::find(std::string_view id) const {
  auto parsed = ArtifactId::parse(id);
  return parsed ? find(*parsed) : nullptr;
}

std::vector<const Artifact*> ArtifactIndex::descendants(const ArtifactId& id) const {
  std::vector<const Artifact*> out;
  for (auto it = m_artifacts.upper_bound(id); it != m_artifacts.end(); ++it) {
    if (!it->first.is_descendant_of(id))
      break;
    out.push_back(&it->second);
  }
  return out;
}

std::vector<const Artifact*> ArtifactIndex::children(const ArtifactId& id) const {
  std::vector<const Artifact*> out;
  for (const Artifact* a : descendants(id))
    if (a->id.depth() == id.depth() + 1)
      out.push_back(a);
  return out;
}

std::vector<const Artifact*> ArtifactIndex::dependents(const ArtifactId& id) const {
  if (!m_dependents_built) {
    m_dependents.clear();
    for (const auto& [_, a] : m_artifacts)
      for (const auto& b : a.blocked_by)
        m_dependents[b].push_back(&a);
    m_dependents_built = true;
  }
  auto it = m_dependents.find(id.str());
  return it == m_dependents.end() ? std::vector<const Artifact*>{} : it->second;
}

std::vector<ArtifactId> ArtifactIndex::ids() const {
  std::vector<ArtifactId> out;
  out.reserve(m_artifacts.size());
  for (const auto& [id, _] : m_artifacts)
    out.push_back(id);
  return out;
}

ArtifactIndex load_index(const std::filesystem::path& artifacts_dir, unsigned workers) {
  auto files = discover(artifacts_dir);
  std::vector<std::optional<std::variant<Artifact, FileProblem>>> read(files.size());
  // Parsing dominates loading, so files are parsed on a few threads; results land in their own
  // slots and are indexed in path order afterwards, so the outcome does not depend on timing.
  workers = std::clamp(workers, 1u, 8u);
  if (files.size() < 64)
    workers = 1;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++)
      read[i] = read_artifact_file(files[i]);
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < workers; ++t)
    threads.emplace_back(work);
  work();
  for (auto& t : threads)
    t.join();
  ArtifactIndex index;
  for (auto& r : read) {
    if (auto* a = std::get_if<Artifact>(&*r))
      index.add(std::move(*a));
    else
      index.add_problem(std::get<FileProblem>(std::move(*r)));
  }
  return index;
}

} // namespace kb::artifact
