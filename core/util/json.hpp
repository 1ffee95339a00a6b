#pragma once

// JSON in and out where the bytes are not ours: parsing with bounded nesting and size, and
// compact text that never throws on strings that are not UTF-8. Header-only, so that the thin
// CLI can use it without linking kb_util.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kb::util {

// How much a JSON text may hold before it is parsed.
struct JsonLimits {
  std::size_t max_depth = 64;       // nested arrays and objects
  std::size_t max_values = 1 << 20; // values of any kind, keys included
};

// Limits for documents from web APIs (GitHub's answers, webhook payloads): deeper and larger
// than any they send, still far from what would exhaust a stack.
inline constexpr JsonLimits k_document_limits{256, std::size_t(1) << 23};

// Why `text` is beyond `limits` ("nesting deeper than 64 levels" …), or nullopt when it is
// within them. One pass over the bytes, no allocation: run before parsing, so a deep or huge
// document cannot exhaust the stack or memory of whatever handles its tree.
inline std::optional<std::string> json_beyond_limits(std::string_view text,
                                                     const JsonLimits& limits = {}) {
  std::size_t depth = 0, values = 0;
  bool in_string = false, escaped = false, in_scalar = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    bool scalar_char = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
                       c == '.' || (c >= 'A' && c <= 'Z');
    if (scalar_char) {
      if (!in_scalar)
        ++values;
      in_scalar = true;
      continue;
    }
    in_scalar = false;
    if (c == '"') {
      in_string = true;
      ++values;
    } else if (c == '[' || c == '{') {
      ++values;
      if (++depth > limits.max_depth)
        return "nesting deeper than " + std::to_string(limits.max_depth) + " levels";
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    if (values > limits.max_values)
      return "more than " + std::to_string(limits.max_values) + " values";
  }
  if (values > limits.max_values)
    return "more than " + std::to_string(limits.max_values) + " values";
  return std::nullopt;
}

// Parses `text` when it is within `limits`; otherwise, or when it is not JSON, a discarded
// value (is_discarded()), as nlohmann's non-throwing parse gives.
inline nlohmann::json parse_json_bounded(std::string_view text, const JsonLimits& limits = {}) {
  if (json_beyond_limits(text, limits))
    return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
}

// Compact JSON text of `value`; bytes of strings that are not UTF-8 become U+FFFD instead of
// an exception.
inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace kb::util
