#include "daemon/realtime/ids.hpp"

#include <charconv>
#include <fmt/format.h>

namespace kb::daemon::realtime {

namespace {

// KEYS: the counter. ARGV: the highest number the caller sees, the counter's life in seconds.
constexpr std::string_view k_reserve_script = R"(
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local seen = tonumber(ARGV[1])
if seen > n then n = seen end
n = n + 1
redis.call('SET', KEYS[1], n, 'EX', ARGV[2])
return n
)";

} // namespace

void IdReservations::reserve(const std::string& team, const std::string& parent,
                             std::uint64_t highest_seen, Done done) {
  auto link = m_link.commands();
  if (!link)
    return done(util::make_error(util::ErrorKind::unavailable,
                                 fmt::format("the team relay is {}", to_string(m_link.state()))));
  link->command({"EVAL", std::string(k_reserve_script), "1",
                 team_key(team, "ids:" + (parent.empty() ? std::string("-") : parent)),
                 std::to_string(highest_seen), std::to_string(m_ttl.count())},
                [done = std::move(done)](util::Result<Reply> r) {
                  if (!r)
                    return done(r.error());
                  if (r->is_error() || r->integer <= 0)
                    return done(util::make_error(util::ErrorKind::unavailable,
                                                 "Redis refused the ID reservation: " + r->str));
                  return done(static_cast<std::uint64_t>(r->integer));
                });
}

} // namespace kb::daemon::realtime
