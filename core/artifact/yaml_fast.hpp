#pragma once

#include "core/artifact/yaml.hpp"

#include <optional>
#include <string_view>

namespace kb::artifact {

// A fast reader for the plain subset of YAML that artifact files use: block mappings and
// sequences, plain and quoted one-line scalars, one-line flow sequences of scalars, `{}`,
// comments. It gives the same nodes and positions as the full parser, and returns nullopt for
// anything outside the subset (anchors, tags, block scalars, multi-line scalars, documents
// markers, tabs, CR…), which then goes to the full parser. Tests and the fuzzer hold the two
// readers to the same answers.
std::optional<YamlNode> parse_yaml_fast(std::string_view text);

// The full parser only (yaml-cpp), for comparisons.
util::Result<YamlNode> parse_yaml_full(std::string_view text);

// Whether two trees agree in kinds, text, quoting, flow style, keys and positions (the
// position of an empty value is not compared). On a difference `why` says where.
bool same_tree(const YamlNode& a, const YamlNode& b, std::string& why);

} // namespace kb::artifact
