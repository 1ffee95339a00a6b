#include "core/protocol/raw_member.hpp"

namespace kb::protocol {

namespace {

// A forward-only scanner over well-formed JSON; every step reports failure instead of reading
// past the end, so malformed input makes find_member give up rather than misbehave.
class Scanner {
public:
  explicit Scanner(std::string_view text) : m_text(text) {}

  size_t pos() const { return m_pos; }

  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' ||
                                     m_text[m_pos] == '\r' || m_text[m_pos] == '\t'))
      ++m_pos;
  }

  bool consume(char c) {
    skip_space();
    if (m_pos >= m_text.size() || m_text[m_pos] != c)
      return false;
    ++m_pos;
    return true;
  }

  char peek() {
    skip_space();
    return m_pos < m_text.size() ? m_text[m_pos] : '\0';
  }

  // A string starting at the current '"'; its raw contents (escapes left as written).
  std::optional<std::string_view> string() {
    if (!consume('"'))
      return std::nullopt;
    size_t start = m_pos;
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == '\\') {
        m_pos += 2;
        continue;
      }
      if (c == '"') {
        auto raw = m_text.substr(start, m_pos - start);
        ++m_pos;
        return raw;
      }
      ++m_pos;
    }
    return std::nullopt;
  }

  // Skips one value of any kind.
  bool skip_value() {
    char c = peek();
    if (c == '"')
      return string().has_value();
    if (c == '{' || c == '[') {
      int depth = 0;
      while (m_pos < m_text.size()) {
        char d = m_text[m_pos];
        if (d == '"') {
          if (!string())
            return false;
          continue;
        }
        ++m_pos;
        if (d == '{' || d == '[')
          ++depth;
        else if ((d == '}' || d == ']') && --depth == 0)
          return true;
      }
      return false;
    }
    size_t start = m_pos;
    while (m_pos < m_text.size() && m_text[m_pos] != ',' && m_text[m_pos] != '}' &&
           m_text[m_pos] != ']' && m_text[m_pos] != ' ' && m_text[m_pos] != '\n')
      ++m_pos;
    return m_pos > start;
  }

private:
  std::string_view m_text;
  size_t m_pos = 0;
};

} // namespace

std::optional<TextSpan> find_member(std::string_view text,
                                    std::initializer_list<std::string_view> path) {
  Scanner s(text);
  for (std::string_view key : path) {
    if (!s.consume('{'))
      return std::nullopt;
    for (;;) {
      auto name = s.string();
      if (!name || name->find('\\') != std::string_view::npos || !s.consume(':'))
        return std::nullopt;
      if (*name == key)
        break;
      if (!s.skip_value())
        return std::nullopt;
      if (!s.consume(','))
        return std::nullopt; // '}' or garbage: the key is not there
    }
  }
  s.skip_space();
  size_t start = s.pos();
  if (!s.skip_value())
    return std::nullopt;
  return TextSpan{start, s.pos() - start};
}

} // namespace kb::protocol
