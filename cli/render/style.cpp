#include "cli/render/style.hpp"

#include <cstdlib>
#include <unistd.h>

namespace kb::cli::render {

std::string Style::wrap(std::string_view code, std::string_view s) const {
  if (!m_color)
    return std::string(s);
  std::string out = "\x1b[";
  out += code;
  out += 'm';
  out += s;
  out += "\x1b[0m";
  return out;
}

std::string Style::state(std::string_view state) const {
  if (state == "ready" || state == "completed")
    return green(state);
  if (state == "in_progress")
    return yellow(state);
  if (state == "in_review")
    return blue(state);
  if (state == "blocked")
    return red(state);
  return dim(state);
}

std::string Style::priority(std::string_view priority) const {
  if (priority == "critical")
    return red(priority);
  if (priority == "high")
    return yellow(priority);
  return std::string(priority);
}

bool colour_wanted(bool disabled_by_flag) {
  if (disabled_by_flag || !::isatty(STDOUT_FILENO))
    return false;
  if (const char* nc = std::getenv("NO_COLOR"); nc && *nc)
    return false;
  const char* term = std::getenv("TERM");
  return !(term && std::string_view(term) == "dumb");
}

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      while (i < s.size() && s[i] != 'm')
        ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80)
      ++width;
  }
  return width;
}

} // namespace kb::cli::render
