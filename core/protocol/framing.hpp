#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kb::protocol {

// Default cap on one frame (one JSON message line).
inline constexpr std::size_t k_default_max_frame = 16 * 1024 * 1024;

// Splits a byte stream into newline-terminated frames, refusing frames longer than a limit.
// An oversized frame is skipped up to its newline and reported once, so one bad message does
// not desynchronise the stream.
class LineFramer {
public:
  enum class Status { frame, need_more, oversized };

  explicit LineFramer(std::size_t max_frame = k_default_max_frame) : m_max(max_frame) {}

  // Appends received bytes.
  void feed(std::string_view bytes) { m_buffer.append(bytes); }

  // Takes the next complete frame into `out` (without the newline; a trailing CR is dropped).
  Status next(std::string& out);

  // Bytes buffered but not yet framed (a partial last line at end of stream).
  std::string_view pending() const { return std::string_view(m_buffer).substr(m_start); }

private:
  static constexpr std::size_t k_kept_capacity = 1 << 20;
  std::size_t m_max;
  std::string m_buffer;
  std::size_t m_start = 0;
  bool m_discarding = false;
};

} // namespace kb::protocol
