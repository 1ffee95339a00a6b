#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kb::validate {

// How upstream's schema bounds a text field. Upstream's zod counts a minimum in code points
// and a maximum in UTF-16 units in some releases of its range and both in code points in
// others; a file must pass every one, so the minimum counts code points (the stricter) and
// the maximum UTF-16 units (the stricter).
struct TextRule {
  size_t min = 1;        // at least this many code points...
  size_t max = 0;        // ...and at most this many UTF-16 units (0: no bound)
  bool trimmed = true;   // the minimum is counted after JavaScript's trim()
  bool one_line = false; // no line break, tab or other control character (checked on write)
};

inline constexpr TextRule k_title_rule{3, 100, false, true}; // metadata.title, untrimmed
inline constexpr TextRule k_text_rule{};                     // summary, vision, list items, notes
inline constexpr TextRule k_line_rule{1, 0, true, true};     // a completion's one-line result

// What breaks a rule: `code` is empty when nothing does, else "too_small", "too_big" or
// "not_one_line", and `message` a sentence about the field ("metadata.title must have at least
// 3 characters (has 2)").
struct TextProblem {
  std::string_view code;
  std::string message;
  explicit operator bool() const { return !code.empty(); }
};

// `value` of the field `name` under `rule`; `rule.one_line` is checked only when `lines` (the
// validator leaves it to writes: upstream's schema does not say it).
TextProblem text_problem(std::string_view name, std::string_view value, const TextRule& rule,
                         bool lines = true);

} // namespace kb::validate
