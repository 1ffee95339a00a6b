// Argument checking against the tools' JSON Schemas, and page cursors.
#include "cli/mcp/server.hpp"

#include <fmt/format.h>
#include <regex>
#include <set>

namespace kb::cli::mcp {

namespace {

bool has_type(const json& value, std::string_view type) {
  if (type == "object")
    return value.is_object();
  if (type == "array")
    return value.is_array();
  if (type == "string")
    return value.is_string();
  if (type == "boolean")
    return value.is_boolean();
  if (type == "null")
    return value.is_null();
  if (type == "integer")
    return value.is_number_integer() ||
           (value.is_number_float() &&
            value.get<double>() == static_cast<double>(static_cast<long long>(value)));
  if (type == "number")
    return value.is_number();
  return true;
}

std::string shown(const json& value) {
  auto text = value.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// The UTF-8 length in code points (what maxLength counts).
size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

} // namespace

std::optional<std::string> schema_problem(const json& schema, const json& value,
                                          const std::string& path) {
  if (!schema.is_object())
    return std::nullopt;
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    if (t->is_string())
      ok = has_type(value, t->get<std::string>());
    else if (t->is_array())
      for (const auto& one : *t)
        ok |= one.is_string() && has_type(value, one.get<std::string>());
    if (!ok)
      return fmt::format("{} must be {}, not {}", path,
                         t->is_string() ? t->get<std::string>() : t->dump(), shown(value));
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    if (std::find(e->begin(), e->end(), value) == e->end()) {
      std::string allowed;
      for (const auto& v : *e)
        allowed +=
            (allowed.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
      return fmt::format("{} is {}; it must be one of: {}", path, shown(value), allowed);
    }
  }
  if (auto c = schema.find("const"); c != schema.end() && *c != value)
    return fmt::format("{} must be {}", path, c->dump());
  if (value.is_string()) {
    auto s = value.get<std::string>();
    if (auto m = schema.find("minLength"); m != schema.end() && code_points(s) < m->get<size_t>())
      return fmt::format("{} must have at least {} characters", path, m->get<size_t>());
    if (auto m = schema.find("maxLength"); m != schema.end() && code_points(s) > m->get<size_t>())
      return fmt::format("{} must have at most {} characters", path, m->get<size_t>());
    if (auto p = schema.find("pattern"); p != schema.end() && p->is_string()) {
      try {
        if (!std::regex_search(s, std::regex(p->get<std::string>(), std::regex::ECMAScript)))
          return fmt::format("{} is {}, which does not have the form {}", path, shown(value),
                             p->get<std::string>());
      } catch (const std::regex_error&) { // a pattern we cannot evaluate: not checked here
      }
    }
  }
  if (value.is_number()) {
    auto n = value.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && n < m->get<double>())
      return fmt::format("{} must be at least {}", path, m->dump());
    if (auto m = schema.find("maximum"); m != schema.end() && n > m->get<double>())
      return fmt::format("{} must be at most {}", path, m->dump());
  }
  if (value.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && value.size() < m->get<size_t>())
      return fmt::format("{} must have at least {} item(s)", path, m->get<size_t>());
    if (auto m = schema.find("maxItems"); m != schema.end() && value.size() > m->get<size_t>())
      return fmt::format("{} must have at most {} items", path, m->get<size_t>());
    if (schema.value("uniqueItems", false)) {
      std::set<std::string> seen;
      for (const auto& v : value)
        if (!seen.insert(v.dump()).second)
          return fmt::format("{} lists {} twice", path, shown(v));
    }
    if (auto items = schema.find("items"); items != schema.end())
      for (size_t i = 0; i < value.size(); ++i)
        if (auto p = schema_problem(*items, value[i], fmt::format("{}[{}]", path, i)))
          return p;
  }
  if (value.is_object()) {
    const json* props = schema.contains("properties") ? &schema["properties"] : nullptr;
    if (auto r = schema.find("required"); r != schema.end() && r->is_array())
      for (const auto& key : *r)
        if (key.is_string() && !value.contains(key.get<std::string>()))
          return fmt::format("{}.{} is required", path, key.get<std::string>());
    for (const auto& [key, v] : value.items()) {
      if (props && props->contains(key)) {
        if (auto p = schema_problem((*props)[key], v, path + "." + key))
          return p;
      } else if (schema.value("additionalProperties", true) == false) {
        std::string known;
        if (props)
          for (const auto& [k, _] : props->items())
            known += (known.empty() ? "" : ", ") + k;
        return fmt::format("{} has no field '{}' (known: {})", path, key,
                           known.empty() ? "none" : known);
      }
    }
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view k_b64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url(std::string_view in) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += k_b64[(bits >> count) & 63];
    }
  }
  if (count > 0)
    out += k_b64[(bits << (6 - count)) & 63];
  return out;
}

std::optional<std::string> unb64url(std::string_view in) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : in) {
    auto at = k_b64.find(c);
    if (at == std::string_view::npos)
      return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(at);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

} // namespace

std::string make_cursor(std::string_view kind, size_t offset, std::string_view scope) {
  return b64url(fmt::format("{}:{}:{}", kind, offset, std::hash<std::string_view>{}(scope)));
}

std::optional<size_t> read_cursor(std::string_view kind, std::string_view cursor,
                                  std::string_view scope) {
  auto text = unb64url(cursor);
  if (!text || cursor.size() > 200)
    return std::nullopt;
  auto prefix = fmt::format("{}:", kind);
  if (!text->starts_with(prefix))
    return std::nullopt;
  auto rest = text->substr(prefix.size());
  auto colon = rest.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 9 ||
      rest.substr(colon + 1) != std::to_string(std::hash<std::string_view>{}(scope)))
    return std::nullopt;
  size_t offset = 0;
  for (char c : rest.substr(0, colon)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    offset = offset * 10 + static_cast<size_t>(c - '0');
  }
  return offset;
}

ToolResult tool_error(std::string message) {
  ToolResult r;
  r.error = true;
  r.text = std::move(message);
  return r;
}

} // namespace kb::cli::mcp
