#pragma once

#include "core/artifact/yaml.hpp"

#include <string>
#include <string_view>

namespace kb::artifact {

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
