#pragma once

#include <string>
#include <string_view>

namespace kb::cli::render {

// Terminal styling: ANSI colours only when enabled (a TTY, no --no-color, no NO_COLOR).
class Style {
public:
  explicit Style(bool color) : m_color(color) {}

  bool color() const { return m_color; }
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }
  std::string red(std::string_view s) const { return wrap("31", s); }
  std::string green(std::string_view s) const { return wrap("32", s); }
  std::string yellow(std::string_view s) const { return wrap("33", s); }
  std::string blue(std::string_view s) const { return wrap("34", s); }
  std::string cyan(std::string_view s) const { return wrap("36", s); }

  // A state name in its colour: ready/completed green, in_progress yellow, in_review blue,
  // blocked red, draft/cancelled/archived dim.
  std::string state(std::string_view state) const;
  // A priority: critical red, high yellow, others plain.
  std::string priority(std::string_view priority) const;

private:
  std::string wrap(std::string_view code, std::string_view s) const;
  bool m_color;
};

// Whether colour should be used on stdout: a TTY, TERM not "dumb", NO_COLOR unset or empty,
// and not disabled by the caller.
bool colour_wanted(bool disabled_by_flag);

// Display width of UTF-8 text without ANSI escapes (one column per code point).
size_t display_width(std::string_view s);

} // namespace kb::cli::render
