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
