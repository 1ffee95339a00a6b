#pragma once

// Team updates over the link to Redis. Per team (a repository's owner/name):
//   kodebase:{team}:ev    pub/sub channel, frames "<epoch>:<seq>:<envelope>"
//   kodebase:{team}:log   capped stream of the same envelopes, entry id <seq>-0
//   kodebase:{team}:meta  hash: epoch, seq
// Publishing appends the envelope (signed with HMAC-SHA-256 under the team secret) to an
// on-disk outbox journal first; one Lua script then assigns the next sequence number, appends
// to the stream and publishes, idempotently by message id (so a journal replayed after a crash
// publishes nothing twice). Up to `window` envelopes are in flight at once on the command
// connection, answered in order; an entry leaves the outbox once acknowledged. Receiving subscribes
// first, then reads the stream from the last sequence seen (kept on disk), de-duplicates by
// sequence, fills gaps from the stream, and reports an epoch change or trimmed history as a resync.
// Envelopes with a bad signature, a time more than five minutes off, or a message id seen before
// are dropped and counted; the daemon's own come back as echoes and are not delivered.

#include "daemon/net/asio.hpp"
#include "daemon/realtime/link.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace kb::daemon::realtime {

struct RelayOptions {
  std::filesystem::path state_dir;     // outboxes and positions
  std::string secret;                  // the team secret ("" = publishing and receiving are off)
  size_t history = 10000;              // stream entries kept
  std::chrono::seconds history_ttl{0}; // the history expires this long after the last
                                       // update (0 = kept)
  size_t window = 512;                 // envelopes sent and not yet acknowledged
};

// The team secret in `file` (surrounding whitespace dropped), or "" when it cannot be read.
std::string read_secret(const std::string& file);

// The team of a repository from its origin URL (https, ssh or scp-like; any host):
// "owner/name", lower-cased; "" when it has none.
std::string team_of_remote(std::string_view url);
// A configured team id ("Owner/Name", or any name of letters, digits, '-', '_', '.' and '/'),
// lower-cased; "" when it is not one.
std::string team_of_id(std::string_view id);

class Relay {
public:
  // `deliver` gets each teammate's change (the envelope), and resyncs as
  // {"kind":"resync","team":…,"reason":…}.
  using Deliver = std::function<void(const std::string& team, const nlohmann::json& envelope)>;
  Relay(Link& link, RelayOptions options, Deliver deliver, Link::Logger log);
  ~Relay();

  void set_secret(std::string secret) { m_options.secret = std::move(secret); }
  // Follows a team: subscribed and caught up whenever the link is live.
  void follow(const std::string& team);
  // A local change to share: signed, kept in the outbox, sent in order when live.
  void publish(const std::string& team, nlohmann::json change);
  nlohmann::json status() const;
  bool following() const { return !m_teams.empty(); }
  // Some team is reading the history it missed.
  bool catching_up() const;
  // This daemon's sender id (presence and claims name their member with it).
  const std::string& instance() const { return m_instance; }
  // HMAC-SHA-256 of `body` under the team secret, hex.
  std::string mac(std::string_view body) const;

  // Called when catching up starts or ends.
  void on_catch_up(std::function<void()> f) { m_on_catch_up = std::move(f); }
  // The link became live: subscribe, catch up, send the outboxes.
  void on_live();
  void on_push(const Reply& push);

private:
  struct Team {
    std::string epoch;
    long long last_seq = 0;
    long long seen_seq = 0; // the highest sequence a push announced
    struct Outgoing {
      std::string msg;  // its message id
      std::string text; // the signed envelope, as sent
    };
    std::deque<Outgoing> outbox; // envelopes not yet acknowledged, oldest first
    size_t in_flight = 0;        // the first this many are sent, not yet answered
    uint64_t sends = 0;          // bumps when the answers in flight no longer count
    size_t journal_lines = 0;
    int journal_fd = -1; // the outbox journal, open for appending
    bool catching_up = false;
    bool read_again = false; // something arrived during a catch-up that it may have missed
    bool subscribed = false;
    std::string error; // what Redis refused last (permissions, memory), until it works
  };
  void subscribe(const std::string& team);
  void catch_up(const std::string& team);
  void set_catching_up(const std::string& team, bool on);
  void send_next(const std::string& team);
  void load_script();
  void receive(const std::string& team, const std::string& epoch, long long seq,
               const std::string& payload, bool from_stream);
  // The position (epoch, sequence) is written at most every 200 ms, and at the end.
  void save_soon();
  void save_now();
  void load(const std::string& team, Team& t) const;
  void journal_append(const std::string& team, Team& t, const std::string& text);
  void journal_rewrite(const std::string& team, Team& t); // to what the outbox holds
  void journal_clear(const std::string& team, Team& t);   // the outbox is empty
  std::filesystem::path file_of(const std::string& team, std::string_view ext) const;
  std::string sign(const nlohmann::json& envelope) const;

  Link& m_link;
  RelayOptions m_options;
  Deliver m_deliver;
  Link::Logger m_log;
  std::string m_instance; // this daemon's sender id
  std::string m_script_sha;
  std::string m_new_epoch; // the epoch a team's first update starts
  std::map<std::string, Team> m_teams;
  std::set<std::string> m_unsaved;
  std::function<void()> m_on_catch_up;
  boost::asio::steady_timer m_save;
  bool m_saving = false;
  std::deque<std::string> m_recent_ids; // replay window, oldest first
  std::set<std::string> m_recent;
  uint64_t m_published = 0, m_received = 0, m_echoes = 0, m_dropped = 0, m_resyncs = 0;
};

} // namespace kb::daemon::realtime
