#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kb::util {

// Seconds since the Unix epoch, UTC.
using UnixSeconds = std::int64_t;

// The current time in whole seconds.
UnixSeconds now_seconds();

// `YYYY-MM-DDTHH:MM:SSZ` for a UTC instant.
std::string format_utc(UnixSeconds t);

// Parses the strict form `YYYY-MM-DDTHH:MM:SSZ` (no fractions, no offsets, valid calendar
// date, hour 00-23); nullopt for anything else.
std::optional<UnixSeconds> parse_utc_strict(std::string_view text);

// Parses ISO-8601-like timestamps leniently (fractions and `+00:00` allowed, `T` or space),
// for ordering data that fails the strict form; nullopt when not a timestamp at all.
std::optional<UnixSeconds> parse_utc_lenient(std::string_view text);

} // namespace kb::util
