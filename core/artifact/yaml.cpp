#include "core/artifact/yaml.hpp"

#include "core/artifact/yaml_fast.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <charconv>
#include <map>
#include <sstream>

namespace kb::artifact {

namespace {

Mark to_mark(const YAML::Mark& m) {
  return Mark{m.line + 1, m.column + 1};
}

// Builds YamlNode trees from yaml-cpp's parse events with an explicit stack, so deep inputs
// cannot exhaust the C++ stack here.
class TreeBuilder final : public YAML::EventHandler {
public:
  YamlNode take_root() { return std::move(m_root); }
  bool has_root() const { return m_done; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode n;
    n.mark = to_mark(mark);
    add(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = m_anchors.find(anchor);
    YamlNode n = it != m_anchors.end() ? it->second : YamlNode{};
    n.mark = to_mark(mark);
    add(std::move(n), 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlNode n;
    n.kind = YamlNode::Kind::scalar;
    n.scalar = value;
    n.quoted = tag == "!" || (!tag.empty() && tag != "?");
    n.mark = to_mark(mark);
    add(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open(YamlNode::Kind::sequence, mark, anchor, style);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(YamlNode::Kind::mapping, mark, anchor, style);
  }
  void OnMapEnd() override { close(); }

private:
  struct Frame {
    YamlNode node;
    YAML::anchor_t anchor = 0;
    bool expecting_key = true; // mappings alternate key, value
    std::string key;
    Mark key_mark;
  };

  void open(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor,
            YAML::EmitterStyle::value style) {
    Frame f;
    f.node.kind = kind;
    f.node.mark = to_mark(mark);
    f.node.flow = style == YAML::EmitterStyle::Flow;
    f.anchor = anchor;
    m_stack.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(m_stack.back());
    m_stack.pop_back();
    add(std::move(f.node), f.anchor);
  }

  void add(YamlNode node, YAML::anchor_t anchor) {
    if (anchor != 0)
      m_anchors[anchor] = node;
    if (m_stack.empty()) {
      if (!m_done) {
        m_root = std::move(node);
        m_done = true;
      }
      return;
    }
    Frame& top = m_stack.back();
    if (top.node.kind == YamlNode::Kind::sequence) {
      top.node.items.push_back(std::move(node));
    } else if (top.expecting_key) {
      // Complex keys (maps or lists as keys) are flattened to their text; artifacts never use them.
      top.key = node.is_scalar()
                    ? node.scalar
                    : node.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      top.key_mark = node.mark;
      top.expecting_key = false;
    } else {
      top.node.entries.push_back(MapEntry{std::move(top.key), top.key_mark, std::move(node)});
      top.expecting_key = true;
    }
  }

  std::vector<Frame> m_stack;
  std::map<YAML::anchor_t, YamlNode> m_anchors;
  YamlNode m_root;
  bool m_done = false;
};

bool is_null_text(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_text(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE")
    return true;
  if (s == "false" || s == "False" || s == "FALSE")
    return false;
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

// A plain scalar resolved in the YAML 1.2 core schema.
nlohmann::json plain_scalar(const std::string& s) {
  if (is_null_text(s))
    return nullptr;
  if (auto b = bool_text(s))
    return *b;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+'))
    body.remove_prefix(1);
  if (all_digits(body)) {
    std::int64_t v = 0;
    const char* first = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(first, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size())
      return v;
    return s;
  }
  // Floats: digits with one '.', optional exponent.
  auto dot = body.find('.');
  auto exp = body.find_first_of("eE");
  std::string_view mantissa = body.substr(0, exp);
  bool mantissa_ok = false;
  if (dot != std::string_view::npos && dot < mantissa.size()) {
    auto ip = mantissa.substr(0, dot), fp = mantissa.substr(dot + 1);
    mantissa_ok = (ip.empty() || all_digits(ip)) && (fp.empty() || all_digits(fp)) &&
                  !(ip.empty() && fp.empty());
  } else {
    mantissa_ok = all_digits(mantissa) && exp != std::string_view::npos;
  }
  if (mantissa_ok && exp != std::string_view::npos) {
    auto e = body.substr(exp + 1);
    if (!e.empty() && (e[0] == '-' || e[0] == '+'))
      e.remove_prefix(1);
    mantissa_ok = all_digits(e);
  }
  if (mantissa_ok) {
    try {
      return std::stod(s);
    } catch (const std::exception&) {
      return s;
    }
  }
  return s;
}

} // namespace

const YamlNode* YamlNode::find(std::string_view key) const {
  if (kind != Kind::mapping)
    return nullptr;
  for (const auto& e : entries)
    if (e.key == key)
      return &e.value;
  return nullptr;
}

nlohmann::json YamlNode::to_json() const {
  switch (kind) {
  case Kind::null: return nullptr;
  case Kind::scalar: return quoted ? nlohmann::json(scalar) : plain_scalar(scalar);
  case Kind::sequence: {
    auto arr = nlohmann::json::array();
    for (const auto& item : items)
      arr.push_back(item.to_json());
    return arr;
  }
  case Kind::mapping: {
    auto obj = nlohmann::json::object();
    for (const auto& e : entries)
      obj[e.key] = e.value.to_json();
    return obj;
  }
  }
  return nullptr;
}

std::string_view YamlNode::describe() const {
  switch (kind) {
  case Kind::null: return "empty";
  case Kind::scalar: {
    if (quoted)
      return "a string";
    auto j = plain_scalar(scalar);
    if (j.is_number())
      return "a number";
    if (j.is_boolean())
      return "a boolean";
    return "a string";
  }
  case Kind::sequence: return "a list";
  case Kind::mapping: return "a mapping";
  }
  return "unknown";
}

util::Result<YamlNode> parse_yaml(std::string_view text) {
  if (auto fast = parse_yaml_fast(text))
    return std::move(*fast);
  return parse_yaml_full(text);
}

util::Result<YamlNode> parse_yaml_full(std::string_view text) {
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    TreeBuilder builder;
    parser.HandleNextDocument(builder);
    if (!builder.has_root())
      return YamlNode{};
    return builder.take_root();
  } catch (const YAML::Exception& e) {
    return util::make_error(util::ErrorKind::invalid_argument, e.msg,
                            {{"line", e.mark.line + 1}, {"column", e.mark.column + 1}});
  } catch (const std::exception& e) {
    return util::make_error(util::ErrorKind::invalid_argument, e.what(),
                            {{"line", 0}, {"column", 0}});
  }
}

} // namespace kb::artifact
