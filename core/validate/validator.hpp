#pragma once

#include "core/artifact/index.hpp"
#include "core/validate/finding.hpp"

#include <vector>

namespace kb::validate {

// Validates one artifact on its own (schema, events, relationship syntax and sibling rules).
std::vector<Finding> validate_artifact(const artifact::Artifact& a, Mode mode);

// Validates a whole index: unreadable files, every artifact, and the dependency graph. When
// `only` is non-empty, findings are limited to those artifacts (the graph is still checked
// as a whole). Findings come in artifact order, file problems first.
Report validate_index(const artifact::ArtifactIndex& index, Mode mode,
                      const std::vector<artifact::ArtifactId>& only = {});

} // namespace kb::validate
