#pragma once

#include "core/artifact/index.hpp"
#include "core/util/result.hpp"

#include <string>

namespace kb::query {

enum class ContextFormat { standard, compact, detailed };

util::Result<ContextFormat> context_format_from_string(std::string_view name);

// Markdown that gives an AI assistant (or a person) what it needs to work on `a`: its
// description and criteria, the parents' context, relationships and metadata.
std::string context_pack(const artifact::ArtifactIndex& index, const artifact::Artifact& a,
                         ContextFormat format);

} // namespace kb::query
