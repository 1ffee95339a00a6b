#pragma once

// Small text helpers, header-only so that the thin CLI can use them without linking kb_util.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kb::util {

inline constexpr uint64_t k_fnv1a_basis = 14695981039346656037ull;

// FNV-1a over `bytes`, continuing from `hash`: stable across builds and machines, for names
// of state files and change fingerprints (not for security).
inline uint64_t fnv1a(std::string_view bytes, uint64_t hash = k_fnv1a_basis) {
  for (unsigned char c : bytes)
    hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

// `in` with each %XX (two hex digits) replaced by its byte; anything else kept as it is.
inline std::string percent_decoded(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned value = 0;
    if (in[i] == '%' && i + 2 < in.size() &&
        std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16).ptr == in.data() + i + 3) {
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// `c` in lower case when it is an ASCII letter (locale-independent, as protocol names want).
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// `s` with its ASCII letters in lower case.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = ascii_lower(c);
  return out;
}

// Whether `a` and `b` are equal ignoring the case of ASCII letters (HTTP header names, say).
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

// Lower-case hexadecimal of `bytes`, two digits each.
inline std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += k_digits[c >> 4];
    out += k_digits[c & 15];
  }
  return out;
}

// Offset of the first byte of `s` that does not belong to well-formed UTF-8 (overlong forms,
// surrogates and values past U+10FFFF included), or npos when all of it is well-formed.
inline size_t utf8_error_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size())
      return i;
    unsigned cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += n;
  }
  return std::string_view::npos;
}

// The code point at `s[i]`, moving `i` past it. A byte that does not start well-formed UTF-8
// stands for itself (one unit), so every string has a length and nothing is skipped.
inline char32_t next_code_point(std::string_view s, size_t& i) {
  size_t bad = utf8_error_at(s.substr(i, 4));
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
  if (bad != std::string_view::npos && bad < n) {
    ++i;
    return c;
  }
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
  for (size_t k = 1; k < n; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  i += n;
  return cp;
}

// The length JavaScript gives `s`: UTF-16 code units (two for a code point above U+FFFF, such as
// most emoji). Upstream Kodebase's limits (a title of 3–100 characters) count this.
inline size_t js_length(std::string_view s) {
  size_t units = 0;
  for (size_t i = 0; i < s.size();)
    units += next_code_point(s, i) > 0xFFFF ? 2 : 1;
  return units;
}

// The code points in `s` (a byte that is not well-formed UTF-8 counts as one).
inline size_t code_points(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n)
    next_code_point(s, i);
  return n;
}

// Whether JavaScript's String.prototype.trim() removes `cp`: WhiteSpace (tab, vertical tab, form
// feed, space, U+FEFF and the space separators, U+00A0 and U+3000 among them) and LineTerminator.
inline bool js_space(char32_t cp) {
  switch (cp) {
  case 0x09:
  case 0x0A:
  case 0x0B:
  case 0x0C:
  case 0x0D:
  case 0x20:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000:
  case 0xFEFF: return true;
  default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

// `s` without the whitespace JavaScript's trim() removes at either end.
inline std::string_view js_trim(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t next = begin;
    if (!js_space(next_code_point(s, next)))
      break;
    begin = next;
  }
  size_t end = begin, i = begin;
  while (i < s.size()) // the end of the last code point that is not whitespace
    if (!js_space(next_code_point(s, i)))
      end = i;
  return s.substr(begin, end - begin);
}

// `s` with every byte that is not part of well-formed UTF-8 written as `\xNN`: any text
// (a file name from a cloned repository, say) made safe to show and to put in JSON.
inline std::string printable_utf8(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    size_t bad = utf8_error_at(s);
    out.append(s.substr(0, bad));
    if (bad == std::string_view::npos)
      break;
    static constexpr char k_digits[] = "0123456789ABCDEF";
    auto c = static_cast<unsigned char>(s[bad]);
    out += "\\x";
    out += k_digits[c >> 4];
    out += k_digits[c & 15];
    s.remove_prefix(bad + 1);
  }
  return out;
}

// The non-empty lines of `text` (without their newlines).
inline std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl - pos);
    if (!line.empty())
      out.emplace_back(line);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return out;
}

} // namespace kb::util
