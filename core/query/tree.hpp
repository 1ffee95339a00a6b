#pragma once

#include "core/artifact/index.hpp"

#include <nlohmann/json.hpp>
#include <optional>

namespace kb::query {

// The hierarchy as nested nodes {id, type, title, state, priority, assignee, children}.
// With `root`, only that artifact and its descendants; otherwise every top-level artifact
// (initiatives, plus any artifact whose parent file is missing).
nlohmann::json build_tree(const artifact::ArtifactIndex& index,
                          const std::optional<artifact::ArtifactId>& root);

} // namespace kb::query
