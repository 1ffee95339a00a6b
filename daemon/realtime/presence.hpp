#pragma once

// Who is working on what, per team, over the link to Redis:
//   kodebase:{team}:presence  hash: member id → {member, name, email, branch, working_on,
//                             agents, kind, since, seen, expires} (JSON)
//   kodebase:{team}:who       pub/sub: a member id whose entry changed (join, update, leave)
// Each daemon is one member (its relay instance id). It writes its entry on every heartbeat
// (and at once when what it says changes), with an expiry three heartbeats ahead; one Lua
// script writes, prunes expired entries and returns the roster. The roster is read again when
// a member announces a change; comparing rosters gives joins, updates and leaves — a member
// that stops without saying so leaves when its entry expires.

#include "daemon/net/asio.hpp"
#include "daemon/realtime/link.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace kb::daemon::realtime {

class Presence {
public:
  // What this daemon says about itself in a team (name, email, branch, working_on, agents),
  // asked for before every heartbeat; `done` may be called later (or never: no heartbeat).
  using Describe =
      std::function<void(const std::string& team, std::function<void(nlohmann::json)>)>;
  // A join, update or leave of another member: {"kind": "join"|"update"|"leave", "member": {...}}.
  using Notify = std::function<void(const std::string& team, const nlohmann::json& event)>;

  Presence(Link& link, std::string member_id, std::chrono::milliseconds interval, Describe describe,
           Notify notify, Link::Logger log);

  void follow(const std::string& team);
  // The link became live: subscribe to the teams' announcements and beat at once.
  void on_live();
  // True when `push` was a presence announcement.
  bool on_push(const Reply& push);
  // Beat now (what this daemon says may have changed).
  void refresh(const std::string& team);
  // Removes this member's entries and announces it (before a clean stop or a disconnect).
  void leave();

  // The last roster seen, oldest member first, and this daemon's own member id.
  nlohmann::json roster(const std::string& team) const;
  const std::string& member_id() const { return m_member; }
  // What this daemon last said about itself in `team` (name, email, ...), or {}.
  nlohmann::json self(const std::string& team) const;

private:
  void beat(const std::string& team);
  void read_roster(const std::string& team);
  void apply_roster(const std::string& team, const Reply& entries);
  void schedule();

  Link& m_link;
  std::string m_member;
  std::chrono::milliseconds m_interval;
  Describe m_describe;
  Notify m_notify;
  Link::Logger m_log;
  long long m_since;
  std::set<std::string> m_teams;
  std::map<std::string, std::map<std::string, nlohmann::json>> m_rosters; // team → member → entry
  std::map<std::string, std::string> m_said; // team → what was last written (without times)
  boost::asio::steady_timer m_timer;
};

} // namespace kb::daemon::realtime
