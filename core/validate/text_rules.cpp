#include "core/validate/text_rules.hpp"

#include "core/util/text.hpp"

#include <fmt/format.h>

namespace kb::validate {

namespace {

// The first character that keeps `s` from being one line: a control character (line feed,
// carriage return, tab, …) or a Unicode line or paragraph separator; 0 when there is none.
char32_t line_breaker(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = util::next_code_point(s, i);
    if (cp < 0x20 || cp == 0x7F || cp == 0x85 || cp == 0x2028 || cp == 0x2029)
      return cp;
  }
  return 0;
}

std::string describe(char32_t cp) {
  switch (cp) {
  case '\n':
  case '\r':
  case 0x85:
  case 0x2028: return "a line break";
  case 0x2029: return "a paragraph break";
  case '\t': return "a tab";
  default: return fmt::format("the control character U+{:04X}", static_cast<unsigned>(cp));
  }
}

} // namespace

TextProblem text_problem(std::string_view name, std::string_view value, const TextRule& rule,
                         bool lines) {
  if (lines && rule.one_line)
    if (char32_t cp = line_breaker(value))
      return {"not_one_line",
              fmt::format("{} must be one line of text; this one holds {}", name, describe(cp))};
  size_t shown = util::code_points(rule.trimmed ? util::js_trim(value) : value);
  if (shown < rule.min)
    return {"too_small", rule.min == 1
                             ? fmt::format("{} must not be empty{}", name,
                                           value.empty() ? "" : " (it holds only white space)")
                             : fmt::format("{} must have at least {} characters (has {})", name,
                                           rule.min, shown)};
  if (size_t units = util::js_length(value); rule.max && units > rule.max)
    return {"too_big",
            fmt::format("{} must have at most {} characters (has {}{})", name, rule.max, units,
                        units == util::code_points(value)
                            ? ""
                            : ", counting characters beyond U+FFFF as two")};
  return {};
}

} // namespace kb::validate
