#pragma once

#include "core/artifact/index.hpp"
#include "core/validate/finding.hpp"

#include <optional>
#include <vector>

namespace kb::validate {

// Collects findings for one artifact with its path and ID filled in.
class Sink {
public:
  Sink(const artifact::Artifact& a, Mode mode, std::vector<Finding>& out)
      : m_artifact(a), m_mode(mode), m_out(out) {}

  Mode mode() const { return m_mode; }
  const artifact::Artifact& artifact() const { return m_artifact; }

  void error(std::string code, std::string field, artifact::Mark mark, std::string message,
             std::string fix);
  void warning(std::string code, std::string field, artifact::Mark mark, std::string message,
               std::string fix);
  // A deviation upstream tolerates: a warning in lenient mode, an error in strict mode.
  void tolerated(std::string code, std::string field, artifact::Mark mark, std::string message,
                 std::string fix);

private:
  void add(Severity s, std::string code, std::string field, artifact::Mark mark,
           std::string message, std::string fix);
  const artifact::Artifact& m_artifact;
  Mode m_mode;
  std::vector<Finding>& m_out;
};

// Schema of metadata, content, notes and completion blocks.
void check_schema(Sink& sink);
// Each event's fields, trigger pairing, order and replayed transitions.
void check_events(Sink& sink);
// Relationship entries: ID syntax and the sibling rules.
void check_relationships(Sink& sink);
// The folders the file lies in fit its ID (PATH_ID_MISMATCH otherwise).
void check_location(Sink& sink);
// Cross-artifact rules: unknown targets, inconsistent pairs, cross-level and cycles.
void check_graph(const artifact::ArtifactIndex& index, std::vector<Finding>& out);

// Checks an actor field: missing or malformed is an error, an older form is tolerated.
void check_actor(Sink& sink, const artifact::YamlNode* node, const std::string& field,
                 artifact::Mark where_missing);

// Actor forms: `Name (email@domain.tld)` or `agent.system` / `agent.cascade` (+ `@tenant`).
bool is_strict_actor(std::string_view actor);
// Older forms upstream wrote and still tolerates, e.g. `Kodebase CLI (cli@v1.0.0)`.
bool is_legacy_actor(std::string_view actor);

} // namespace kb::validate
