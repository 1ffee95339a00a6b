#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kb::artifact {

// A position in a source file, 1-based; 0 means unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

struct MapEntry;

// A YAML node as written: scalars stay text (no YAML 1.1 timestamp or sexagesimal typing),
// mappings keep their key order and unknown keys, and every node keeps its position.
class YamlNode {
public:
  enum class Kind : uint8_t { null, scalar, sequence, mapping };

  // (Ordered so the small members share one word: a warm index holds millions of nodes.)
  std::string scalar;            // text of a scalar
  std::vector<YamlNode> items;   // sequence items
  std::vector<MapEntry> entries; // mapping entries in file order
  Mark mark;
  Kind kind = Kind::null;
  bool quoted = false; // a quoted or block scalar: never a number, bool or null
  bool flow = false;   // a flow collection ([a, b] or {a: b})

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_mapping() const { return kind == Kind::mapping; }

  // The value under `key` of a mapping; nullptr when absent or not a mapping.
  const YamlNode* find(std::string_view key) const;

  // The node's data in the YAML 1.2 core schema (plain `true`, `12`, `null` are typed;
  // everything else, timestamps included, is a string).
  nlohmann::json to_json() const;

  // Human name of the kind for messages: "a string", "a list", "a mapping", "null"…
  std::string_view describe() const;
};

struct MapEntry {
  std::string key;
  Mark key_mark;
  YamlNode value;
};

// Parses the first document of `text`. A syntax error fails with kind invalid_argument and
// details {line, column} (1-based); a repeated key of one mapping (details.code DUPLICATE_KEY,
// with first_line) and aliases that would repeat more than 10,000 nodes (YAML_ALIAS_LIMIT)
// fail the same way.
util::Result<YamlNode> parse_yaml(std::string_view text);

// A file's text as the parsers see it: without a UTF-8 byte order mark, and with CRLF line
// ends as LF when every line ends so. `bom` and `crlf` say what restore_source puts back.
struct SourceText {
  std::string text;
  bool bom = false;
  bool crlf = false;
};
SourceText normalize_source(std::string_view raw);

// `text` in the form its file was found in (see normalize_source).
std::string restore_source(std::string_view text, bool bom, bool crlf);

} // namespace kb::artifact
