#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>

namespace kb::protocol {

// Where a value sits inside a JSON text: the byte offset of its first character and its length.
struct TextSpan {
  size_t offset = 0;
  size_t length = 0;
};

// Finds the value reached by following object keys `path` from the top of `text` (for example
// {"result", "artifacts"}) by scanning, without building a tree. A client that only passes a
// large value through (a 10,000-artifact list piped to a script) saves parsing and re-printing
// it. Returns nullopt when the text is not shaped that way, or a key on the way is written with
// escapes; callers then fall back to a full parse.
std::optional<TextSpan> find_member(std::string_view text,
                                    std::initializer_list<std::string_view> path);

} // namespace kb::protocol
