#include "core/artifact/yaml.hpp"

#include "core/artifact/yaml_fast.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "core/util/text.hpp"

#include <charconv>
#include <fmt/format.h>
#include <map>
#include <sstream>
#include <unordered_map>

namespace kb::artifact {

namespace {

Mark to_mark(const YAML::Mark& m) {
  return Mark{m.line + 1, m.column + 1};
}

// A scalar as yaml-cpp decoded it, in UTF-8. Its escapes for U+0080..U+00FF (`\xNN`, `\_`
// for U+00A0, `\N` for U+0085) come out as one raw byte each: those bytes are re-encoded as
// the code points they stand for. (The text itself was checked to be UTF-8 before parsing.)
std::string as_utf8(const std::string& value) {
  if (util::utf8_error_at(value) == std::string::npos)
    return value;
  std::string out;
  std::string_view rest = value;
  while (!rest.empty()) {
    size_t bad = util::utf8_error_at(rest);
    out.append(rest.substr(0, bad));
    if (bad == std::string_view::npos)
      break;
    auto byte = static_cast<unsigned char>(rest[bad]);
    out += static_cast<char>(0xC0 | (byte >> 6));
    out += static_cast<char>(0x80 | (byte & 0x3F));
    rest.remove_prefix(bad + 1);
  }
  return out;
}

// Aliases may repeat at most this many nodes in all: a few kilobytes of anchors and aliases
// could otherwise stand for billions of nodes (a "billion laughs" document).
constexpr size_t k_max_alias_nodes = 10000;

// A document refused while it is being read; the message says why, the mark where.
struct Refused {
  std::string message;
  Mark mark;
  std::string code;
};

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
    add(std::move(n), anchor, 1);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = m_anchors.find(anchor);
    size_t nodes = it != m_anchors.end() ? it->second.second : 1;
    m_alias_nodes += nodes;
    if (m_alias_nodes > k_max_alias_nodes)
      throw Refused{fmt::format("YAML aliases repeat more than {} nodes; artifact files need no "
                                "aliases (write the values out)",
                                k_max_alias_nodes),
                    to_mark(mark), "YAML_ALIAS_LIMIT"};
    YamlNode n = it != m_anchors.end() ? it->second.first : YamlNode{};
    n.mark = to_mark(mark);
    add(std::move(n), 0, nodes);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlNode n;
    n.kind = YamlNode::Kind::scalar;
    n.scalar = as_utf8(value);
    n.quoted = tag == "!" || (!tag.empty() && tag != "?");
    n.mark = to_mark(mark);
    add(std::move(n), anchor, 1);
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
    size_t nodes = 1; // in the subtree, aliases counted as what they repeat
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
    add(std::move(f.node), f.anchor, f.nodes);
  }

  void add(YamlNode node, YAML::anchor_t anchor, size_t nodes) {
    if (anchor != 0)
      m_anchors[anchor] = {node, nodes};
    if (!m_stack.empty())
      m_stack.back().nodes += nodes;
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
  std::map<YAML::anchor_t, std::pair<YamlNode, size_t>> m_anchors;
  size_t m_alias_nodes = 0;
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

namespace {

// The first key that a mapping of `root` repeats, as an error naming both lines (YAML
// forbids it, and tools disagree on which value counts). Walks with an explicit stack.
std::optional<util::Error> duplicate_key(const YamlNode& root) {
  std::vector<const YamlNode*> todo{&root};
  std::unordered_map<std::string_view, const MapEntry*> seen;
  while (!todo.empty()) {
    const YamlNode* n = todo.back();
    todo.pop_back();
    for (const auto& item : n->items)
      todo.push_back(&item);
    if (n->entries.empty())
      continue;
    seen.clear();
    for (const auto& e : n->entries) {
      auto [it, fresh] = seen.emplace(e.key, &e);
      if (!fresh)
        return util::make_error(
            util::ErrorKind::invalid_argument,
            fmt::format("duplicate key '{}' (first at line {}); keep one of the two",
                        util::printable_utf8(e.key), it->second->key_mark.line),
            {{"line", e.key_mark.line},
             {"column", e.key_mark.column},
             {"first_line", it->second->key_mark.line},
             {"code", "DUPLICATE_KEY"}});
      todo.push_back(&e.value);
    }
  }
  return std::nullopt;
}

} // namespace

util::Result<YamlNode> parse_yaml(std::string_view text) {
  auto parsed = [&]() -> util::Result<YamlNode> {
    if (auto fast = parse_yaml_fast(text))
      return std::move(*fast);
    return parse_yaml_full(text);
  }();
  if (parsed)
    if (auto dup = duplicate_key(*parsed))
      return *dup;
  return parsed;
}

SourceText normalize_source(std::string_view raw) {
  SourceText out;
  if (raw.starts_with("\xEF\xBB\xBF")) {
    out.bom = true;
    raw.remove_prefix(3);
  }
  size_t lf = 0, crlf = 0;
  for (size_t i = raw.find('\n'); i != std::string_view::npos; i = raw.find('\n', i + 1)) {
    ++lf;
    crlf += i > 0 && raw[i - 1] == '\r';
  }
  out.crlf = lf > 0 && crlf == lf;
  if (!out.crlf) {
    out.text = raw;
    return out;
  }
  out.text.reserve(raw.size() - crlf);
  for (size_t i = 0; i < raw.size(); ++i)
    if (!(raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n'))
      out.text += raw[i];
  return out;
}

std::string restore_source(std::string_view text, bool bom, bool crlf) {
  std::string out = bom ? "\xEF\xBB\xBF" : "";
  if (!crlf)
    return out.append(text);
  out.reserve(out.size() + text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n')
      out += '\r';
    out += c;
  }
  return out;
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
  } catch (const Refused& r) {
    return util::make_error(util::ErrorKind::invalid_argument, r.message,
                            {{"line", r.mark.line}, {"column", r.mark.column}, {"code", r.code}});
  } catch (const YAML::Exception& e) {
    return util::make_error(util::ErrorKind::invalid_argument, e.msg,
                            {{"line", e.mark.line + 1}, {"column", e.mark.column + 1}});
  } catch (const std::exception& e) {
    return util::make_error(util::ErrorKind::invalid_argument, e.what(),
                            {{"line", 0}, {"column", 0}});
  }
}

} // namespace kb::artifact
