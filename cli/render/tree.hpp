#pragma once

#include "cli/render/style.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kb::cli::render {

// Box-drawn tree of nodes {id, title, state, children}.
std::string tree(const Style& style, const nlohmann::json& roots);

// The same drawing for a flat list of artifacts {id, parent, title, state}: each one hangs
// under its nearest listed ancestor.
std::string tree_from_list(const Style& style, const nlohmann::json& list);

} // namespace kb::cli::render
