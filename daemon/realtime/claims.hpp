#pragma once

// Claims: a lease on an artifact, so that two people (or agents) do not start the same work.
//   kodebase:{team}:claim:<id>  the holder {id, name, email, member, token, since, expires,
//                               ttl_ms} (JSON), with the lease as its PX expiry
//   kodebase:{team}:claims      sorted set: id → expiry, for listing without SCAN
//   kodebase:{team}:fence       the fencing-token counter (one more for every new claim)
// Taking one is a SET NX inside a Lua script that also hands out the fencing token; the holder
// (the same email) may take it again, which renews it and keeps the token. The daemon renews
// the claims it took while it runs (the token must still match: a lease that expired and was
// taken by someone else is reported lost, not stolen back) and keeps them on disk, so a
// restarted daemon renews them too; when it stops, they expire after their TTL.

#include "daemon/net/asio.hpp"
#include "daemon/realtime/link.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace kb::daemon::realtime {

class Claims {
public:
  using Done = std::function<void(util::Result<nlohmann::json>)>;
  // A claim this daemon held and lost (it expired and someone else took it).
  using Lost = std::function<void(const std::string& team, const nlohmann::json& claim)>;

  Claims(Link& link, std::filesystem::path state_dir, std::string member_id, Lost lost,
         Link::Logger log);

  // Takes (or renews) the claim on `id` for the person {name, email}: {claim, taken: true}
  // or, when someone else holds it and not `force`, {claim (theirs), taken: false}.
  void claim(const std::string& team, const std::string& id, const nlohmann::json& person,
             std::chrono::milliseconds ttl, bool force, Done done);
  // Gives it up: {released: bool, claim}; someone else's only with `force` (else an error).
  void release(const std::string& team, const std::string& id, const nlohmann::json& person,
               bool force, Done done);
  // Gives up a claim this daemon holds, if it still holds it (the token matches); for
  // finished work.
  void drop(const std::string& team, const std::string& id);
  // The holder of `id`, or null.
  void holder(const std::string& team, const std::string& id, Done done);
  // Every live claim of the team, soonest to expire first.
  void list(const std::string& team, Done done);
  // The link is live again: renew what this daemon holds.
  void on_live();
  // The claims this daemon holds and renews.
  nlohmann::json held() const;

private:
  struct Held {
    long long token = 0;
    long long ttl_ms = 0;
  };
  void renew();
  void schedule();
  void save() const;
  void load();
  // "Redis not live" as an error that says what to do.
  util::Error offline() const;

  Link& m_link;
  std::filesystem::path m_file;
  std::string m_member;
  Lost m_lost;
  Link::Logger m_log;
  std::map<std::pair<std::string, std::string>, Held> m_held; // (team, id) → lease
  boost::asio::steady_timer m_timer;
};

} // namespace kb::daemon::realtime
