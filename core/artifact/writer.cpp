#include "core/artifact/writer.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>

namespace kb::artifact {

std::vector<size_t> canonical_positions(const YamlNode& map,
                                        std::span<const std::string_view> order) {
  std::vector<size_t> out;
  for (auto key : order)
    for (size_t i = 0; i < map.entries.size(); ++i)
      if (map.entries[i].key == key)
        out.push_back(i);
  for (size_t i = 0; i < map.entries.size(); ++i)
    if (std::find(order.begin(), order.end(), map.entries[i].key) == order.end())
      out.push_back(i);
  return out;
}

namespace {

constexpr std::array<std::string_view, 5> k_event_order = {"event", "timestamp", "actor", "trigger",
                                                           "metadata"};
constexpr std::array<std::string_view, 2> k_relationship_order = {"blocks", "blocked_by"};

// Entries of a mapping with the known keys first, in the given order, then the rest as written.
std::vector<const MapEntry*> ordered(const YamlNode& map, std::span<const std::string_view> order) {
  std::vector<const MapEntry*> out;
  for (size_t i : canonical_positions(map, order))
    out.push_back(&map.entries[i]);
  return out;
}

// Whether `s` can be written without quotes and read back as the same text.
bool plain_syntax_ok(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ')
    return false;
  if (std::string_view("&*!|>%@`[]{}?:,-#'\"~").find(s.front()) != std::string_view::npos)
    return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos ||
      s.back() == ':')
    return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == ',' || c == '[' || c == ']' || c == '{' ||
        c == '}')
      return false;
  return true;
}

// Whether `s` can be written unquoted and still read back as a string (not null, a boolean
// or a number).
bool plain_is_safe(std::string_view s) {
  if (!plain_syntax_ok(s))
    return false;
  YamlNode probe;
  probe.kind = YamlNode::Kind::scalar;
  probe.scalar = std::string(s);
  return probe.to_json().is_string();
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (c < 0x20)
        out += fmt::format("\\x{:02X}", c);
      else
        out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string scalar_text_of(const YamlNode& n) {
  if (n.is_null())
    return "null";
  // A plain scalar keeps its meaning (a number stays a number) when written plain again.
  return n.quoted || !plain_syntax_ok(n.scalar) ? quote(n.scalar) : n.scalar;
}

bool is_flow_list_key(std::string_view key) {
  return key == "blocks" || key == "blocked_by";
}

void write_node(std::string& out, const YamlNode& n, int indent, std::string_view key);

std::string flow_list(const YamlNode& seq) {
  std::string out = "[";
  for (size_t i = 0; i < seq.items.size(); ++i) {
    if (i)
      out += ", ";
    out += seq.items[i].is_scalar() || seq.items[i].is_null()
               ? scalar_text_of(seq.items[i])
               : quote(seq.items[i].to_json().dump());
  }
  return out + "]";
}

void write_entries(std::string& out, const std::vector<const MapEntry*>& entries, int indent,
                   bool first_inline) {
  std::string pad(static_cast<size_t>(indent), ' ');
  bool first = true;
  for (const MapEntry* e : entries) {
    if (!(first && first_inline))
      out += pad;
    first = false;
    out += yaml_scalar(e->key, false) + ":";
    write_node(out, e->value, indent, e->key);
  }
}

std::vector<const MapEntry*> entries_for(const YamlNode& map, std::string_view key) {
  if (key == "metadata")
    return ordered(map, k_metadata_order);
  if (key == "relationships")
    return ordered(map, k_relationship_order);
  if (key == "events")
    return ordered(map, k_event_order);
  return ordered(map, std::array<std::string_view, 0>{});
}

// Writes the value after `key:` (the key and colon are already out).
void write_node(std::string& out, const YamlNode& n, int indent, std::string_view key) {
  std::string pad(static_cast<size_t>(indent + 2), ' ');
  switch (n.kind) {
  case YamlNode::Kind::null: out += "\n"; return;
  case YamlNode::Kind::scalar: out += " " + scalar_text_of(n) + "\n"; return;
  case YamlNode::Kind::sequence:
    if (n.items.empty() || is_flow_list_key(key)) {
      out += " " + flow_list(n) + "\n";
      return;
    }
    out += "\n";
    for (const auto& item : n.items) {
      out += pad + "-";
      if (item.is_mapping() && !item.entries.empty()) {
        out += " ";
        write_entries(out, entries_for(item, key), indent + 4, true);
      } else if (item.is_sequence() && !item.items.empty()) {
        out += " " + flow_list(item) + "\n";
      } else if (item.is_mapping()) {
        out += " {}\n";
      } else {
        out += item.is_null() ? "\n" : " " + scalar_text_of(item) + "\n";
      }
    }
    return;
  case YamlNode::Kind::mapping:
    if (n.entries.empty()) {
      out += " {}\n";
      return;
    }
    out += "\n";
    write_entries(out, entries_for(n, key), indent + 2, false);
    return;
  }
}

} // namespace

std::string yaml_scalar(std::string_view text, bool force_quotes) {
  return !force_quotes && plain_is_safe(text) ? std::string(text) : quote(text);
}

YamlNode scalar_node(std::string text, bool plain) {
  YamlNode n;
  n.kind = YamlNode::Kind::scalar;
  n.scalar = std::move(text);
  n.quoted = !plain;
  return n;
}

std::string write_canonical(const YamlNode& document) {
  std::string out;
  write_entries(out, ordered(document, k_top_order), 0, false);
  return out;
}

} // namespace kb::artifact
