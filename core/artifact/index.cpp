#include "core/artifact/index.hpp"

#include "core/artifact/merge.hpp"
#include "core/util/file.hpp"

#include "core/util/text.hpp"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <thread>

namespace kb::artifact {

namespace {

// Line and column (1-based, in bytes) of offset `at` of `text`.
Mark mark_at(std::string_view text, size_t at) {
  Mark m{1, 1};
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.column = 1;
    } else {
      ++m.column;
    }
  }
  return m;
}

// A byte no text file holds: C0 controls other than tab, LF and CR, and DEL.
bool is_binary_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7f;
}

} // namespace

std::variant<Artifact, FileProblem>
read_artifact_text(const ArtifactId& id, const std::filesystem::path& path, std::string_view raw) {
  auto source = normalize_source(raw);
  std::string_view text = source.text;
  if (auto bad = util::utf8_error_at(text); bad != std::string_view::npos) {
    auto mark = mark_at(text, bad);
    return FileProblem{path, id, "INVALID_UTF8",
                       fmt::format("the file is not UTF-8 text: byte 0x{:02X} at line {}, column "
                                   "{} is not valid UTF-8; save the file as UTF-8",
                                   static_cast<unsigned char>(text[bad]), mark.line, mark.column),
                       mark};
  }
  if (auto bad = std::find_if(text.begin(), text.end(), is_binary_byte); bad != text.end()) {
    auto mark = mark_at(text, static_cast<size_t>(bad - text.begin()));
    return FileProblem{path, id, "BINARY_CONTENT",
                       fmt::format("the file holds the control character 0x{:02X} at line {}, "
                                   "column {}; an artifact file is YAML text",
                                   static_cast<unsigned char>(*bad), mark.line, mark.column),
                       mark};
  }
  // A merge left conflict markers: the artifact is read from its own side, and marked.
  int conflict_line = 0;
  std::string ours;
  if (has_conflict_markers(text)) {
    for (size_t at = 0, line = 1; at < text.size(); ++line) {
      auto nl = text.find('\n', at);
      if (text.substr(at, 7) == "<<<<<<<") {
        conflict_line = static_cast<int>(line);
        break;
      }
      at = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    ours = split_conflict(text).ours;
    text = ours;
  }
  auto doc = parse_yaml(text);
  if (!doc && conflict_line)
    return FileProblem{path,
                       id,
                       "CONFLICT",
                       fmt::format("the file holds conflict markers (line {}) and neither side "
                                   "reads: run `kodebase resolve {}`",
                                   conflict_line, id.str()),
                       {conflict_line, 1}};
  if (!doc) {
    const auto& d = doc.error().details;
    Mark mark{d.value("line", 0), d.value("column", 0)};
    std::string code = d.value("code", "YAML_SYNTAX_ERROR");
    return FileProblem{path, id, code,
                       code == "YAML_SYNTAX_ERROR"
                           ? fmt::format("YAML syntax error: {}", doc.error().message)
                           : doc.error().message,
                       mark};
  }
  if (!doc->is_mapping()) {
    std::string what =
        doc->is_null() ? "the file is empty" : fmt::format("the document is {}", doc->describe());
    return FileProblem{
        path, id, "INVALID_DOCUMENT",
        fmt::format("{}; an artifact file is a mapping with metadata and content", what),
        doc->mark};
  }
  auto artifact = artifact_from_document(id, path, std::move(*doc));
  artifact.conflict_line = conflict_line;
  return artifact;
}

std::variant<Artifact, FileProblem> read_artifact_file(const DiscoveredFile& file,
                                                       const ReadLimits& limits) {
  // A link was checked by discovery; the file itself is read as found there.
  auto text = util::read_file(file.path, {.max_bytes = limits.max_file_bytes});
  if (!text) {
    bool large =
        text.error().details.is_object() && text.error().details.value("reason", "") == "too_large";
    if (large)
      return FileProblem{file.path,
                         file.id,
                         "FILE_TOO_LARGE",
                         fmt::format("the file is larger than {} KiB, the most an artifact file "
                                     "may hold; it is not read (setting artifacts.max_file_kb)",
                                     limits.max_file_bytes / 1024),
                         {}};
    return FileProblem{
        file.path, file.id, "FILE_UNREADABLE", util::printable_utf8(text.error().message), {}};
  }
  return read_artifact_text(file.id, file.path, *text);
}

FileProblem refused_problem(const RefusedEntry& entry) {
  bool name = entry.message.find("UTF-8") != std::string::npos;
  return FileProblem{
      entry.path, entry.id, name ? "INVALID_PATH" : "UNSAFE_FILE", entry.message, {}};
}

void ArtifactIndex::add(Artifact artifact) {
  if (artifact.conflict_line)
    m_problems.push_back(FileProblem{
        artifact.path,
        artifact.id,
        "CONFLICT",
        fmt::format("the file holds conflict markers (line {}); its own side is read meanwhile",
                    artifact.conflict_line),
        {artifact.conflict_line, 1}});
  auto it = m_artifacts.find(artifact.id);
  if (it != m_artifacts.end()) {
    m_problems.push_back(FileProblem{
        artifact.path,
        artifact.id,
        "DUPLICATE_ID",
        fmt::format("{} is also defined by {}: give one of them another ID with `kodebase "
                    "renumber {} --file {}`",
                    artifact.id.str(), util::printable_utf8(it->second.path.string()),
                    artifact.id.str(), util::printable_utf8(artifact.path.string())),
        {}});
    m_duplicates.push_back(std::move(artifact));
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
  std::erase_if(m_duplicates, [&](const Artifact& a) { return a.path == path; });
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
  out.reserve(m_artifacts.size() + m_problems.size());
  for (const auto& [id, _] : m_artifacts)
    out.push_back(id);
  for (const auto& p : m_problems)
    if (p.id)
      out.push_back(*p.id);
  return out;
}

ArtifactIndex load_index(const std::filesystem::path& artifacts_dir, const ReadLimits& limits,
                         std::vector<std::filesystem::path>* temporaries, unsigned workers) {
  auto found = discover(artifacts_dir);
  auto& files = found.files;
  if (temporaries)
    *temporaries = std::move(found.temporaries);
  std::vector<std::optional<std::variant<Artifact, FileProblem>>> read(files.size());
  // Parsing dominates loading, so files are parsed on a few threads; results land in their own
  // slots and are indexed in path order afterwards, so the outcome does not depend on timing.
  workers = std::clamp(workers, 1u, 8u);
  if (files.size() < 64)
    workers = 1;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++)
      read[i] = read_artifact_file(files[i], limits);
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
  for (const auto& entry : found.refused)
    index.add_problem(refused_problem(entry));
  index.sort_problems();
  return index;
}

} // namespace kb::artifact
