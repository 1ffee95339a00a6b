#include "core/validate/validator.hpp"

#include "core/validate/rules.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace kb::validate {

std::vector<Finding> validate_artifact(const artifact::Artifact& a, Mode mode) {
  std::vector<Finding> out;
  Sink sink(a, mode, out);
  check_schema(sink);
  check_events(sink);
  check_relationships(sink);
  check_location(sink);
  return out;
}

Report validate_index(const artifact::ArtifactIndex& index, Mode mode,
                      const std::vector<artifact::ArtifactId>& only) {
  std::set<std::string> wanted;
  for (const auto& id : only)
    wanted.insert(id.str());
  auto selected = [&](const std::string& id) { return wanted.empty() || wanted.contains(id); };

  Report report;
  for (const auto& p : index.problems()) {
    std::string id = p.id ? p.id->str() : "";
    if (!selected(id))
      continue;
    std::string fix = p.code == "DUPLICATE_ID"
                          ? "give one of them another ID: `kodebase renumber " + id +
                                " --file FILE`, or `kodebase validate --fix`"
                      : p.code == "CONFLICT"
                          ? "run `kodebase resolve " + id +
                                "` (or remove the markers by hand); its own side is read meanwhile"
                          : "fix the file so it parses; the rest of the project is unaffected "
                            "meanwhile";
    report.findings.push_back(
        Finding{id, p.path, Severity::error, p.code, p.message, "", p.mark, std::move(fix)});
  }
  std::vector<Finding> graph_findings;
  check_graph(index, graph_findings);
  std::unordered_map<std::string, std::vector<Finding>> graph;
  for (auto& f : graph_findings)
    graph[f.id].push_back(std::move(f));
  for (const auto& [id, a] : index.all()) {
    if (!selected(id.str()))
      continue;
    ++report.artifacts;
    auto own = validate_artifact(a, mode);
    report.findings.insert(report.findings.end(), std::make_move_iterator(own.begin()),
                           std::make_move_iterator(own.end()));
    if (auto it = graph.find(id.str()); it != graph.end())
      for (auto& f : it->second)
        report.findings.push_back(std::move(f));
  }
  return report;
}

} // namespace kb::validate
