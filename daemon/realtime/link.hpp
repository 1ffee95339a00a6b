#pragma once

// The daemon's link to the team's Redis: a subscriber connection and a command connection,
// kept healthy (PING when idle, with a deadline), reconnected with full-jitter exponential
// backoff, and a state users can see: disabled, connecting, live, backing_off or failed.

#include "daemon/net/asio.hpp"
#include "daemon/realtime/resp.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

namespace kb::daemon::realtime {

struct LinkOptions {
  std::string url; // "" = the relay is off
  std::string ca_file;
  std::chrono::milliseconds timeout{5000};        // connecting, and every command's answer
  std::chrono::milliseconds ping_interval{15000}; // a PING after this long without traffic
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_cap{30000};
  std::chrono::milliseconds stable_after{60000}; // live this long: the backoff starts over
};

// The Redis key (or channel) `part` of a team: kodebase:{owner/name}:part. The braces keep a
// team's keys in one cluster slot, so its scripts may touch several.
std::string team_key(std::string_view team, std::string_view part);
// Wall-clock milliseconds since the epoch (envelopes, presence and claims carry them).
long long wall_ms();

enum class LinkState { disabled, connecting, live, backing_off, failed };
std::string_view to_string(LinkState s);

class Link {
public:
  using Logger = std::function<void(const std::string&)>;
  Link(boost::asio::io_context& io, Logger log);
  ~Link();

  // Starts (or restarts, with new options) the link; an empty url turns it off. A URL that
  // does not parse puts it in `failed` with the reason.
  void configure(LinkOptions options);
  void stop();

  LinkState state() const { return m_state; }
  boost::asio::io_context& io() { return m_io; }
  // {state, url (without password), reason, attempt, retry_in_ms, live_seconds, pings,
  // reconnects}
  nlohmann::json status() const;

  // The connections while live (null otherwise).
  std::shared_ptr<Connection> subscriber() const {
    return m_state == LinkState::live ? m_sub : nullptr;
  }
  std::shared_ptr<Connection> commands() const {
    return m_state == LinkState::live ? m_cmd : nullptr;
  }
  // Called each time the link becomes live (subscribe and catch up there), and with pushes.
  void on_live(std::function<void()> f) { m_on_live = std::move(f); }
  void on_push(std::function<void(const Reply&)> f) { m_on_push = std::move(f); }
  // Called after every change of state (or of its reason).
  void on_state(std::function<void()> f) { m_on_state = std::move(f); }

private:
  void connect();
  void lost(const util::Error& why, bool permanent);
  void schedule_ping();
  void set_state(LinkState s, std::string reason = {});

  boost::asio::io_context& m_io;
  Logger m_log;
  LinkOptions m_options;
  std::optional<RedisUrl> m_url;
  LinkState m_state = LinkState::disabled;
  std::string m_reason;
  std::shared_ptr<Connection> m_sub, m_cmd;
  boost::asio::steady_timer m_retry, m_ping;
  int m_attempt = 0;
  uint64_t m_generation = 0; // bumps on every (re)connect: stale callbacks ignore themselves
  std::chrono::steady_clock::time_point m_live_since, m_retry_at;
  uint64_t m_pings = 0, m_reconnects = 0;
  std::mt19937_64 m_random{std::random_device{}()};
  std::function<void()> m_on_live;
  std::function<void(const Reply&)> m_on_push;
  std::function<void()> m_on_state;
};

} // namespace kb::daemon::realtime
