#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// find_member for a text that arrives in pieces (a reply read from a socket): the array or
// object at `path` is handed to `sink` piece by piece as it streams through, so a client that
// passes a large value on never holds it; the rest of the text is kept, with the value replaced
// by `null`, to be parsed as usual. When the value is not there, or not an array or object, or
// only found after the first 64 KiB, nothing reaches the sink and the rest is the whole text.
class MemberSplitter {
public:
  using Sink = std::function<void(std::string_view)>;
  MemberSplitter(std::vector<std::string> path, Sink sink)
      : m_path(std::move(path)), m_sink(std::move(sink)) {}

  void feed(std::string_view bytes);
  // Whether the value was found and went to the sink (whole, once the text ended properly).
  bool found() const { return m_phase != Phase::locating && m_phase != Phase::absent; }
  // The text without the value; complete once every piece was fed.
  const std::string& rest() const { return m_rest; }

private:
  enum class Phase { locating, absent, inside, after };
  void stream(std::string_view bytes);

  std::vector<std::string> m_path;
  Sink m_sink;
  Phase m_phase = Phase::locating;
  std::string m_rest;
  int m_depth = 0;
  bool m_in_string = false;
  bool m_escaped = false;
};

} // namespace kb::protocol
