// Replies from a Redis server through the relay's reader (hiredis's parser), as a socket may
// deliver them: whole, and again split at every other byte. Both ways must give the same
// replies up to the same point, and malformed input must end in an error, never a crash.
#include "daemon/realtime/resp.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace rt = kb::daemon::realtime;

namespace {

// Reply shapes as text, so two readings can be compared.
void describe(const rt::Reply& r, std::string& out) {
  out += std::to_string(static_cast<int>(r.type)) + ':' + r.str + ':' + std::to_string(r.integer);
  out += '[';
  for (const auto& e : r.elements)
    describe(e, out);
  out += ']';
}

// Everything `input` yields fed in pieces of `step` bytes, and whether it ended in an error.
std::pair<std::vector<std::string>, bool> read_all(std::string_view input, size_t step) {
  rt::ReplyReader reader;
  std::vector<std::string> out;
  for (size_t at = 0; at < input.size(); at += step) {
    if (!reader.feed(input.substr(at, step)))
      return {out, true};
    for (int i = 0; i < 10000; ++i) {
      auto r = reader.next();
      if (!r)
        return {out, true};
      if (!*r)
        break;
      out.emplace_back();
      describe(**r, out.back());
    }
  }
  return {out, false};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto [whole, whole_failed] = read_all(input, size ? size : 1);
  auto [split, split_failed] = read_all(input, 2);
  // The split reading may stop earlier at an error only where the whole one also failed.
  if (whole_failed != split_failed)
    std::abort();
  if (!whole_failed && whole != split)
    std::abort();
  return 0;
}
