#include "core/artifact/yaml_fast.hpp"

#include <vector>

namespace kb::artifact {

namespace {

struct Line {
  int number = 0;        // 1-based
  int indent = 0;        // columns before `text`
  std::string_view text; // from the first non-space character
};

bool is_null_word(std::string_view s) {
  return s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Thrown inside the parser when the input leaves the subset; caught at the top.
struct Unsupported {};

[[noreturn]] void bail() {
  throw Unsupported{};
}

// Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). The full parser
// rewrites anything else, so such input must go to it.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size())
      return false;
    unsigned cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFEFF || cp == 0x85 ||
        cp == 0x2028 || cp == 0x2029)
      return false;
    i += n;
  }
  return true;
}

bool is_flow_plain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/' || c == '+' || c == ' ';
}

bool is_dash_item(std::string_view t) {
  return t == "-" || t.starts_with("- ");
}

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

// After a value: only spaces and an optional comment may follow.
void expect_end(std::string_view rest) {
  rest = std::string_view(rest).substr(std::min(rest.find_first_not_of(' '), rest.size()));
  if (!rest.empty() && rest[0] != '#')
    bail();
}

// A quoted scalar starting at t[0]; returns its text and sets `used` to the bytes consumed.
std::string quoted(std::string_view t, size_t& used) {
  char q = t[0];
  std::string out;
  size_t i = 1;
  while (i < t.size()) {
    char c = t[i];
    if (q == '\'' && c == '\'') {
      if (i + 1 < t.size() && t[i + 1] == '\'') {
        out += '\'';
        i += 2;
        continue;
      }
      used = i + 1;
      return out;
    }
    if (q == '"' && c == '"') {
      used = i + 1;
      return out;
    }
    if (q == '"' && c == '\\') {
      if (i + 1 >= t.size())
        bail();
      char e = t[i + 1];
      i += 2;
      switch (e) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '/': out += '/'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      default: bail(); // rarer escapes go to the full parser
      }
      continue;
    }
    out += c;
    ++i;
  }
  bail(); // the scalar continues on the next line
}

class FastParser {
public:
  explicit FastParser(std::string_view text) {
    if (!valid_utf8(text))
      bail();
    split(text);
  }

  YamlNode parse() {
    if (m_lines.empty())
      return YamlNode{};
    YamlNode root = block(m_lines[0].indent);
    if (m_i != m_lines.size())
      bail();
    return root;
  }

private:
  void split(std::string_view text) {
    int number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view raw = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++number;
      for (char c : raw)
        if (static_cast<unsigned char>(c) < 0x20)
          bail(); // tabs, CR and control characters
      size_t first = raw.find_first_not_of(' ');
      if (first == std::string_view::npos || raw[first] == '#')
        continue;
      std::string_view t = raw.substr(first);
      if (t.starts_with("---") || t.starts_with("...") || t[0] == '%')
        bail();
      m_lines.push_back(Line{number, static_cast<int>(first), rtrim(t)});
    }
    if (text.starts_with("\xEF\xBB\xBF"))
      bail();
  }

  bool at(int indent) const { return m_i < m_lines.size() && m_lines[m_i].indent == indent; }
  bool deeper(int indent) const { return m_i < m_lines.size() && m_lines[m_i].indent > indent; }

  YamlNode block(int indent) {
    return is_dash_item(m_lines[m_i].text) ? sequence(indent) : mapping(indent);
  }

  // A value written after `key:` or `- ` on the line; the line is consumed.
  YamlNode inline_value(const Line& line, std::string_view t, int column) {
    YamlNode n;
    n.mark = Mark{line.number, column + 1};
    char c = t[0];
    if (c == '"' || c == '\'') {
      size_t used = 0;
      n.kind = YamlNode::Kind::scalar;
      n.scalar = quoted(t, used);
      n.quoted = true;
      expect_end(t.substr(used));
    } else if (c == '[') {
      flow_sequence(line, t, column, n);
    } else if (c == '{') {
      if (rtrim(t.substr(0, t.find('#'))) != "{}")
        bail();
      n.kind = YamlNode::Kind::mapping;
      n.flow = true;
    } else {
      plain(t, n);
    }
    ++m_i;
    return n;
  }

  static void plain(std::string_view t, YamlNode& n) {
    if (std::string_view("&*!|>%@`]}?:,-#").find(t[0]) != std::string_view::npos)
      bail();
    size_t hash = t.find(" #");
    std::string_view v = rtrim(t.substr(0, hash));
    if (v.find(": ") != std::string_view::npos || v.ends_with(':') ||
        v.find(" #") != std::string_view::npos)
      bail();
    if (is_null_word(v))
      return; // a null node
    n.kind = YamlNode::Kind::scalar;
    n.scalar = std::string(v);
  }

  void flow_sequence(const Line& line, std::string_view t, int column, YamlNode& n) {
    n.kind = YamlNode::Kind::sequence;
    n.flow = true;
    size_t i = 1;
    auto skip = [&] {
      while (i < t.size() && t[i] == ' ')
        ++i;
    };
    skip();
    if (i < t.size() && t[i] == ']') {
      expect_end(t.substr(i + 1));
      return;
    }
    while (i < t.size()) {
      YamlNode item;
      item.mark = Mark{line.number, column + static_cast<int>(i) + 1};
      if (t[i] == '"' || t[i] == '\'') {
        size_t used = 0;
        item.kind = YamlNode::Kind::scalar;
        item.scalar = quoted(t.substr(i), used);
        item.quoted = true;
        i += used;
      } else {
        size_t end = t.find_first_of(",]", i);
        if (end == std::string_view::npos)
          bail();
        std::string_view v = rtrim(t.substr(i, end - i));
        if (v.empty() || std::string_view("&*!|>%@`[{?:-#").find(v[0]) != std::string_view::npos ||
            v.find_first_of(":#{}[\"'") != std::string_view::npos)
          bail();
        for (char ch : v)
          if (!is_flow_plain_char(ch))
            bail(); // IDs, words and numbers; anything else goes to the full parser
        if (!is_null_word(v)) {
          item.kind = YamlNode::Kind::scalar;
          item.scalar = std::string(v);
        }
        i = end;
      }
      n.items.push_back(std::move(item));
      skip();
      if (i >= t.size())
        bail();
      if (t[i] == ']') {
        expect_end(t.substr(i + 1));
        return;
      }
      if (t[i] != ',')
        bail();
      ++i;
      skip();
      if (i < t.size() && t[i] == ']')
        bail(); // trailing comma
    }
    bail();
  }

  // The value of a key whose line ends after the colon.
  YamlNode nested_value(int indent, const Line& key_line) {
    ++m_i;
    if (deeper(indent))
      return block(m_lines[m_i].indent);
    if (at(indent) && is_dash_item(m_lines[m_i].text))
      return sequence(indent); // `key:` followed by `- item` at the same indent
    YamlNode n;
    n.mark = m_i < m_lines.size() ? Mark{m_lines[m_i].number, m_lines[m_i].indent + 1}
                                  : Mark{key_line.number, 0};
    return n;
  }

  YamlNode mapping(int indent) {
    YamlNode map;
    map.kind = YamlNode::Kind::mapping;
    map.mark = Mark{m_lines[m_i].number, indent + 1};
    while (at(indent)) {
      Line line = m_lines[m_i];
      std::string_view t = line.text;
      if (is_dash_item(t))
        bail();
      MapEntry entry;
      entry.key_mark = Mark{line.number, indent + 1};
      size_t after_key;
      if (t[0] == '"' || t[0] == '\'') {
        size_t used = 0;
        entry.key = quoted(t, used);
        if (used >= t.size() || t[used] != ':')
          bail();
        after_key = used + 1;
      } else {
        size_t colon = t.find(": ");
        if (colon == std::string_view::npos && t.ends_with(':'))
          colon = t.size() - 1;
        if (colon == std::string_view::npos || colon == 0)
          bail();
        std::string_view key = t.substr(0, colon);
        if (std::string_view("&*!|>%@`[]{}?:,-#").find(key[0]) != std::string_view::npos ||
            key.find_first_of("#\"'") != std::string_view::npos || key.back() == ' ' ||
            is_null_word(key))
          bail();
        entry.key = std::string(key);
        after_key = colon + 1;
      }
      if (after_key < t.size() && t[after_key] != ' ')
        bail();
      size_t value_at = t.find_first_not_of(' ', after_key);
      if (value_at == std::string_view::npos || t[value_at] == '#') {
        entry.value = nested_value(indent, line);
      } else {
        entry.value = inline_value(line, t.substr(value_at), indent + static_cast<int>(value_at));
        if (deeper(indent))
          bail(); // a continuation line or a stray block
      }
      map.entries.push_back(std::move(entry));
    }
    if (deeper(indent))
      bail();
    return map;
  }

  YamlNode sequence(int indent) {
    YamlNode seq;
    seq.kind = YamlNode::Kind::sequence;
    seq.mark = Mark{m_lines[m_i].number, indent + 1};
    while (at(indent) && is_dash_item(m_lines[m_i].text)) {
      Line& line = m_lines[m_i];
      size_t value_at = line.text.find_first_not_of(' ', 1);
      if (value_at == std::string_view::npos || line.text[value_at] == '#') {
        ++m_i;
        if (deeper(indent)) {
          seq.items.push_back(block(m_lines[m_i].indent));
        } else {
          YamlNode null_item;
          null_item.mark = m_i < m_lines.size() ? Mark{m_lines[m_i].number, m_lines[m_i].indent + 1}
                                                : Mark{line.number, 0};
          seq.items.push_back(std::move(null_item));
        }
        continue;
      }
      // The item starts on the dash line: re-read the rest of the line as if it began there,
      // so `- key: value` opens a mapping whose next keys align with `key`.
      std::string_view rest = line.text.substr(value_at);
      int column = indent + static_cast<int>(value_at);
      bool is_map_line = rest[0] != '"' && rest[0] != '\'' && rest[0] != '[' && rest[0] != '{' &&
                         (rest.find(": ") != std::string_view::npos || rest.ends_with(':'));
      if (is_dash_item(rest) || is_map_line) {
        line.indent = column;
        line.text = rest;
        seq.items.push_back(block(column));
      } else {
        Line copy = line;
        seq.items.push_back(inline_value(copy, rest, column));
        if (deeper(indent))
          bail();
      }
    }
    if (deeper(indent))
      bail();
    return seq;
  }

  std::vector<Line> m_lines;
  size_t m_i = 0;
};

} // namespace

bool same_tree(const YamlNode& a, const YamlNode& b, std::string& why) {
  auto where = [&](const char* what) {
    why = std::string(what) + " differs at " + std::to_string(a.mark.line) + ":" +
          std::to_string(a.mark.column) + " / " + std::to_string(b.mark.line) + ":" +
          std::to_string(b.mark.column);
    return false;
  };
  if (a.kind != b.kind)
    return where("kind");
  if (!a.is_null() && (a.mark.line != b.mark.line || a.mark.column != b.mark.column))
    return where("position");
  if (a.scalar != b.scalar || a.quoted != b.quoted)
    return where("scalar");
  if (a.flow != b.flow)
    return where("flow style");
  if (a.items.size() != b.items.size() || a.entries.size() != b.entries.size())
    return where("size");
  for (size_t i = 0; i < a.items.size(); ++i)
    if (!same_tree(a.items[i], b.items[i], why))
      return false;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const auto &x = a.entries[i], &y = b.entries[i];
    if (x.key != y.key || x.key_mark.line != y.key_mark.line ||
        x.key_mark.column != y.key_mark.column)
      return where("key");
    if (!same_tree(x.value, y.value, why))
      return false;
  }
  return true;
}

std::optional<YamlNode> parse_yaml_fast(std::string_view text) {
  try {
    return FastParser(text).parse();
  } catch (const Unsupported&) {
    return std::nullopt;
  }
}

} // namespace kb::artifact
