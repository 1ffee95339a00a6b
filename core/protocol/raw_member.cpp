#include "core/protocol/raw_member.hpp"

#include <cstring>

namespace kb::protocol {

namespace {

// A forward-only scanner over well-formed JSON; every step reports failure instead of reading
// past the end, so malformed input makes find_member give up rather than misbehave.
class Scanner {
public:
  explicit Scanner(std::string_view text) : m_text(text) {}

  size_t pos() const { return m_pos; }
  bool exhausted() const { return m_pos >= m_text.size(); }

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

enum class Located { found, absent, incomplete };

// Moves `s` to the first character of the value at `path`. Running out of text on the way is
// `incomplete` (more may arrive), anything else that does not fit is `absent`.
template <typename Path> Located locate(Scanner& s, const Path& path) {
  auto fail = [&] { return s.exhausted() ? Located::incomplete : Located::absent; };
  for (std::string_view key : path) {
    if (!s.consume('{'))
      return fail();
    for (;;) {
      auto name = s.string();
      if (!name || name->find('\\') != std::string_view::npos || !s.consume(':'))
        return fail();
      if (*name == key)
        break;
      if (!s.skip_value() || !s.consume(','))
        return fail(); // '}' or garbage: the key is not there
    }
  }
  s.skip_space();
  return s.exhausted() ? Located::incomplete : Located::found;
}

} // namespace

std::optional<TextSpan> find_member(std::string_view text,
                                    std::initializer_list<std::string_view> path) {
  Scanner s(text);
  if (locate(s, path) != Located::found)
    return std::nullopt;
  size_t start = s.pos();
  if (!s.skip_value())
    return std::nullopt;
  return TextSpan{start, s.pos() - start};
}

void MemberSplitter::feed(std::string_view bytes) {
  switch (m_phase) {
  case Phase::inside: return stream(bytes);
  case Phase::absent:
  case Phase::after: m_rest.append(bytes); return;
  case Phase::locating: break;
  }
  m_rest.append(bytes);
  Scanner s(m_rest);
  Located where = locate(s, m_path);
  if (where == Located::incomplete && m_rest.size() <= 64 * 1024)
    return; // the next piece may reach the value
  char first = where == Located::found ? m_rest[s.pos()] : '\0';
  if (first != '[' && first != '{') {
    m_phase = Phase::absent;
    return;
  }
  std::string value = m_rest.substr(s.pos());
  m_rest.resize(s.pos());
  m_rest += "null";
  m_phase = Phase::inside;
  stream(value);
}

void MemberSplitter::stream(std::string_view bytes) {
  // Tracks strings and nesting to find where the value ends; the bytes up to there are its.
  // Most bytes of a JSON text are inside strings, which are crossed with memchr.
  const char* data = bytes.data();
  size_t size = bytes.size(), end = 0;
  while (end < size && m_phase == Phase::inside) {
    if (m_in_string) {
      if (m_escaped) {
        m_escaped = false;
        ++end;
        continue;
      }
      auto* quote = static_cast<const char*>(std::memchr(data + end, '"', size - end));
      size_t limit = quote ? static_cast<size_t>(quote - data) : size;
      if (auto* backslash = static_cast<const char*>(std::memchr(data + end, '\\', limit - end))) {
        end = static_cast<size_t>(backslash - data) + 1;
        m_escaped = true;
      } else {
        end = quote ? limit + 1 : size;
        m_in_string = !quote;
      }
      continue;
    }
    char c = data[end++];
    if (c == '"')
      m_in_string = true;
    else if (c == '[' || c == '{')
      ++m_depth;
    else if ((c == ']' || c == '}') && --m_depth == 0)
      m_phase = Phase::after;
  }
  if (end > 0)
    m_sink(bytes.substr(0, end));
  m_rest.append(bytes.substr(end));
}

} // namespace kb::protocol
