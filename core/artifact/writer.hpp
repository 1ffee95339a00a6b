#pragma once

#include "core/artifact/yaml.hpp"

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kb::artifact {

// The canonical order of an artifact's top-level keys and of its metadata keys; other keys
// follow the known ones, as written.
inline constexpr std::array<std::string_view, 6> k_top_order = {
    "metadata", "content", "notes", "implementation_notes", "delivery_summary", "impact_summary"};
inline constexpr std::array<std::string_view, 8> k_metadata_order = {
    "title",    "priority",       "estimation",    "created_by",
    "assignee", "schema_version", "relationships", "events"};

// The positions of `map`'s entries in canonical order for `order`: known keys in that order,
// then the rest as written.
std::vector<size_t> canonical_positions(const YamlNode& map,
                                        std::span<const std::string_view> order);

// The canonical text of an artifact document: top-level keys in the order metadata, content,
// notes, the completion blocks, then any other keys; metadata keys in schema order;
// relationship lists in flow style (`blocked_by: [A.1.1]`, `[]`); events and other lists in
// block style; free text and timestamps double-quoted; enum words, IDs, numbers and booleans
// plain; no line folding; a trailing newline. Reading the text back gives the same data.
std::string write_canonical(const YamlNode& document);

// `text` as a YAML scalar: plain when that reads back as the same string, else double-quoted
// with escapes.
std::string yaml_scalar(std::string_view text, bool force_quotes);

// A scalar node holding `text` (quoted unless `plain`).
YamlNode scalar_node(std::string text, bool plain = false);

} // namespace kb::artifact
