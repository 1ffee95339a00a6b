#include "daemon/realtime/link.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace kb::daemon::realtime {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string team_key(std::string_view team, std::string_view part) {
  return fmt::format("kodebase:{{{}}}:{}", team, part);
}

long long wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view to_string(LinkState s) {
  switch (s) {
  case LinkState::disabled: return "disabled";
  case LinkState::connecting: return "connecting";
  case LinkState::live: return "live";
  case LinkState::backing_off: return "backing_off";
  case LinkState::failed: return "failed";
  }
  return "failed";
}

Link::Link(boost::asio::io_context& io, Logger log)
    : m_io(io), m_log(std::move(log)), m_retry(io), m_ping(io) {}

Link::~Link() {
  stop();
}

void Link::stop() {
  ++m_generation;
  m_retry.cancel();
  m_ping.cancel();
  for (auto* c : {&m_sub, &m_cmd})
    if (*c) {
      (*c)->close();
      c->reset();
    }
}

void Link::configure(LinkOptions options) {
  stop();
  m_options = std::move(options);
  m_attempt = 0;
  m_url.reset();
  if (m_options.url.empty()) {
    set_state(LinkState::disabled);
    return;
  }
  auto url = parse_redis_url(m_options.url);
  if (!url) {
    set_state(LinkState::failed, url.error().message);
    return;
  }
  m_url = *url;
  connect();
}

void Link::set_state(LinkState s, std::string reason) {
  bool changed = s != m_state || reason != m_reason;
  if (changed)
    m_log(fmt::format("team relay: {}{}{}", to_string(s), reason.empty() ? "" : ": ", reason));
  m_state = s;
  m_reason = std::move(reason);
  if (changed && m_on_state)
    m_on_state();
}

void Link::connect() {
  auto generation = ++m_generation;
  set_state(LinkState::connecting, m_reason);
  ConnectOptions o{*m_url, m_options.ca_file, m_options.timeout};
  m_sub = Connection::create(m_io, o);
  m_cmd = Connection::create(m_io, o);
  auto pending = std::make_shared<int>(2);
  auto failed = std::make_shared<bool>(false);
  auto connected = [this, generation, pending, failed](util::Status st) {
    if (generation != m_generation || *failed)
      return;
    if (!st) {
      *failed = true;
      // Refused credentials, an unusable CA file or a certificate that does not verify need
      // the user: retried only at the slowest pace.
      bool permanent = st.error().kind != util::ErrorKind::unavailable ||
                       st.error().message.find("certificate") != std::string::npos;
      lost(st.error(), permanent);
      return;
    }
    if (--*pending > 0)
      return;
    // A server that needs a password answers NOAUTH only once asked something.
    m_cmd->command({"PING"}, [this, generation](util::Result<Reply> r) {
      if (generation != m_generation)
        return;
      if (!r)
        return lost(r.error(), false);
      if (r->is_error())
        return lost(util::make_error(
                        util::ErrorKind::failed,
                        fmt::format("Redis at {} refused: {}", m_url->redacted(), r->str), nullptr),
                    true);
      for (auto* c : {&m_sub, &m_cmd})
        (*c)->on_closed([this, generation](const util::Error& why) {
          if (generation == m_generation)
            lost(why, false);
        });
      m_sub->on_push([this](const Reply& push) {
        if (m_on_push)
          m_on_push(push);
      });
      m_live_since = Clock::now();
      if (m_attempt > 0)
        ++m_reconnects;
      set_state(LinkState::live);
      schedule_ping();
      if (m_on_live)
        m_on_live();
    });
  };
  auto sub = m_sub, cmd = m_cmd; // a connection may fail at once, and stop() drop them
  sub->connect(connected);
  if (generation == m_generation)
    cmd->connect(connected);
}

void Link::lost(const util::Error& why, bool permanent) {
  bool was_live = m_state == LinkState::live;
  if (was_live && Clock::now() - m_live_since >= m_options.stable_after)
    m_attempt = 0; // it had been stable: start the backoff over
  stop();
  ++m_attempt;
  // Full jitter: anywhere between nothing and the exponential bound, so daemons that lost
  // the same server do not come back all at once.
  auto bound = std::min<long long>(m_options.backoff_cap.count(), m_options.backoff_base.count()
                                                                      << std::min(m_attempt, 20));
  auto delay = permanent
                   ? m_options.backoff_cap
                   : milliseconds(std::uniform_int_distribution<long long>(0, bound)(m_random));
  m_retry_at = Clock::now() + delay;
  set_state(permanent ? LinkState::failed : LinkState::backing_off, why.message);
  auto generation = m_generation;
  m_retry.expires_after(delay);
  m_retry.async_wait([this, generation](boost::system::error_code ec) {
    if (!ec && generation == m_generation)
      connect();
  });
}

void Link::schedule_ping() {
  auto generation = m_generation;
  m_ping.expires_after(m_options.ping_interval);
  m_ping.async_wait([this, generation](boost::system::error_code ec) {
    if (ec || generation != m_generation || m_state != LinkState::live)
      return;
    // Both connections: a subscriber's socket can die quietly behind a proxy or NAT, and
    // only an answer that does not come shows it (the command's deadline closes it).
    auto answered = std::make_shared<int>(0);
    for (auto* c : {&m_sub, &m_cmd})
      (*c)->command({"PING"}, [this, generation, answered](util::Result<Reply> r) {
        if (generation != m_generation || !r)
          return; // a missed deadline closes the connection, which reports it
        if (++*answered == 2) {
          ++m_pings;
          schedule_ping();
        }
      });
  });
}

nlohmann::json Link::status() const {
  nlohmann::json out{
      {"state", to_string(m_state)},
      {"url", m_url ? nlohmann::json(m_url->redacted()) : nlohmann::json(nullptr)},
      {"reason", m_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(m_reason)},
      {"attempt", m_attempt},
      {"pings", m_pings},
      {"reconnects", m_reconnects}};
  auto now = Clock::now();
  if (m_state == LinkState::live)
    out["live_seconds"] =
        std::chrono::duration_cast<std::chrono::seconds>(now - m_live_since).count();
  if (m_state == LinkState::backing_off || m_state == LinkState::failed)
    out["retry_in_ms"] =
        std::max<long long>(0, std::chrono::duration_cast<milliseconds>(m_retry_at - now).count());
  return out;
}

} // namespace kb::daemon::realtime
