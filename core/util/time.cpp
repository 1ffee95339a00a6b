#include "core/util/time.hpp"

#include <chrono>
#include <fmt/format.h>

namespace kb::util {

namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

// Reads exactly `n` digits at `pos`.
std::optional<unsigned> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size())
    return std::nullopt;
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return v;
}

struct Parts {
  unsigned year, month, day, hour, minute, second;
};

std::optional<UnixSeconds> to_seconds(const Parts& p) {
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > days_in_month(p.year, p.month) ||
      p.hour > 23 || p.minute > 59 || p.second > 60)
    return std::nullopt;
  return days_from_civil(p.year, p.month, p.day) * 86400 + p.hour * 3600 + p.minute * 60 + p.second;
}

// Parses `YYYY-MM-DD?HH:MM:SS` at the start of `s`.
std::optional<Parts> parse_prefix(std::string_view s, bool allow_space) {
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  auto h = digits(s, 11, 2), mi = digits(s, 14, 2), se = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !se || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  if (s[10] != 'T' && !(allow_space && (s[10] == ' ' || s[10] == 't')))
    return std::nullopt;
  return Parts{*y, *mo, *d, *h, *mi, *se};
}

} // namespace

UnixSeconds now_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_utc(UnixSeconds t) {
  std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  std::int64_t secs = t - days * 86400;
  // civil_from_days
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, secs / 3600, secs % 3600 / 60,
                     secs % 60);
}

std::optional<UnixSeconds> parse_utc_strict(std::string_view text) {
  if (text.size() != 20 || text[19] != 'Z')
    return std::nullopt;
  auto parts = parse_prefix(text, false);
  if (!parts || parts->second > 59)
    return std::nullopt;
  return to_seconds(*parts);
}

std::optional<UnixSeconds> parse_utc_lenient(std::string_view text) {
  if (text.size() < 19)
    return std::nullopt;
  auto parts = parse_prefix(text, true);
  if (!parts)
    return std::nullopt;
  auto rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9')
      ++i;
    rest.remove_prefix(i);
  }
  if (!(rest.empty() || rest == "Z" || rest == "z" || rest == "+00:00" || rest == "+0000"))
    return std::nullopt;
  return to_seconds(*parts);
}

} // namespace kb::util
