#include "daemon/realtime/relay.hpp"

#include "core/util/file.hpp"
#include "core/util/hmac.hpp"
#include "core/util/json.hpp"
#include "core/util/remote.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

namespace kb::daemon::realtime {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t k_max_envelope = 64 * 1024;
constexpr size_t k_replay_window = 4096;           // message ids remembered
constexpr long long k_max_skew_ms = 5 * 60 * 1000; // envelope times accepted around ours
constexpr int k_page = 500;                        // stream entries read at a time

// Next sequence, stream entry and publication in one step; a message id seen in the last day
// gets its first sequence back instead of a second entry. With a history TTL, the stream and
// its sequence expire that long after the last update (the next one starts a new epoch).
constexpr std::string_view k_publish_script = R"(
local seen = redis.call('GET', KEYS[3])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
if seen then return {epoch, tonumber(seen)} end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'e', epoch, 'p', ARGV[2])
redis.call('SET', KEYS[3], seq, 'EX', 86400)
if tonumber(ARGV[5]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
redis.call('PUBLISH', ARGV[1], epoch .. ':' .. seq .. ':' .. ARGV[2])
return {epoch, seq}
)";

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    for (auto& c : raw) // no entropy source: still unique enough within one run
      c = static_cast<char>(std::rand());
  return util::to_hex(raw);
}

} // namespace

std::string read_secret(const std::string& file) {
  if (file.empty())
    return "";
  auto text = util::read_file(file);
  if (!text)
    return "";
  auto begin = text->find_first_not_of(" \t\r\n");
  auto end = text->find_last_not_of(" \t\r\n");
  return begin == std::string::npos ? "" : text->substr(begin, end - begin + 1);
}

std::string team_of_remote(std::string_view url) {
  return team_of_id(util::remote_repository(url));
}

std::string team_of_id(std::string_view id) {
  if (id.empty() || id.size() > 200)
    return "";
  std::string team(id);
  for (auto& c : team) {
    c = util::ascii_lower(c);
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' ||
          c == '.'))
      return "";
  }
  return team;
}

Relay::Relay(Link& link, RelayOptions options, Deliver deliver, Link::Logger log)
    : m_link(link), m_options(std::move(options)), m_deliver(std::move(deliver)),
      m_log(std::move(log)), m_instance(random_hex(8)), m_new_epoch(random_hex(8)),
      m_save(link.io()) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(k_publish_script.data()), k_publish_script.size(),
       digest);
  m_script_sha =
      util::to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

void Relay::set_catching_up(const std::string& team, bool on) {
  bool before = catching_up();
  m_teams[team].catching_up = on;
  if (before != catching_up() && m_on_catch_up)
    m_on_catch_up();
}

bool Relay::catching_up() const {
  return std::any_of(m_teams.begin(), m_teams.end(),
                     [](const auto& t) { return t.second.catching_up; });
}

Relay::~Relay() {
  save_now();
  for (auto& [team, t] : m_teams)
    if (t.journal_fd >= 0)
      ::close(t.journal_fd);
}

fs::path Relay::file_of(const std::string& team, std::string_view ext) const {
  return m_options.state_dir / "teams" / fmt::format("{:016x}.{}", util::fnv1a(team), ext);
}

void Relay::save_soon() {
  if (m_saving)
    return;
  m_saving = true;
  m_save.expires_after(std::chrono::milliseconds(200));
  m_save.async_wait([this](boost::system::error_code ec) {
    m_saving = false;
    if (!ec)
      save_now();
  });
}

void Relay::save_now() {
  for (const auto& team : m_unsaved) {
    const auto& t = m_teams.at(team);
    std::error_code ec;
    util::create_private_directories(file_of(team, "json").parent_path());
    (void)util::write_file_atomic(
        file_of(team, "json"),
        json{{"team", team}, {"epoch", t.epoch}, {"last_seq", t.last_seq}}.dump() + "\n", 0600);
  }
  m_unsaved.clear();
}

void Relay::load(const std::string& team, Team& t) const {
  if (auto text = util::read_file(file_of(team, "json"))) {
    auto doc = util::parse_json_bounded(*text);
    if (doc.is_object() && doc.value("team", "") == team) {
      t.epoch = doc.value("epoch", "");
      t.last_seq = doc.value("last_seq", 0LL);
    }
  }
  // The outbox journal: one envelope per line; a line cut short by a crash is left out.
  // Entries sent before the crash go again: the publish script knows their message ids.
  if (auto text = util::read_file(file_of(team, "outbox"))) {
    size_t start = 0;
    for (size_t end; (end = text->find('\n', start)) != std::string::npos; start = end + 1) {
      auto line = text->substr(start, end - start);
      auto e = util::parse_json_bounded(line);
      if (e.is_object() && e.value("team", "") == team && e["msg"].is_string())
        t.outbox.push_back({e["msg"].get<std::string>(), std::move(line)});
      ++t.journal_lines;
    }
  }
}

void Relay::journal_append(const std::string& team, Team& t, const std::string& text) {
  if (t.journal_fd < 0) {
    auto path = file_of(team, "outbox");
    std::error_code ec;
    util::create_private_directories(path.parent_path());
    t.journal_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (t.journal_fd < 0) {
      m_log(fmt::format("team relay: cannot write {}: {}", path.string(), std::strerror(errno)));
      return;
    }
  }
  auto line = text + "\n"; // one write: a reader never sees half of it
  (void)!::write(t.journal_fd, line.data(), line.size());
  ++t.journal_lines;
}

void Relay::journal_clear(const std::string& team, Team& t) {
  if (t.journal_fd < 0)
    t.journal_fd = ::open(file_of(team, "outbox").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (t.journal_fd >= 0 && ::ftruncate(t.journal_fd, 0) == 0)
    t.journal_lines = 0;
}

void Relay::journal_rewrite(const std::string& team, Team& t) {
  std::string text;
  for (const auto& e : t.outbox)
    text += e.text + "\n";
  // The appending descriptor would keep the replaced file: opened again on the next append.
  if (t.journal_fd >= 0)
    ::close(std::exchange(t.journal_fd, -1));
  (void)util::write_file_atomic(file_of(team, "outbox"), text, 0600);
  t.journal_lines = t.outbox.size();
}

std::string Relay::mac(std::string_view body) const {
  return util::hmac_sha256_hex(m_options.secret, body);
}

std::string Relay::sign(const json& envelope) const {
  json body = envelope;
  body.erase("sig");
  return mac(body.dump()); // keys sorted: the same text on every side
}

void Relay::follow(const std::string& team) {
  if (team.empty() || m_teams.contains(team))
    return;
  auto& t = m_teams[team];
  load(team, t);
  m_log(fmt::format("team relay: following {}", team));
  if (m_link.state() == LinkState::live) {
    subscribe(team);
    send_next(team);
  }
}

void Relay::publish(const std::string& team, json change) {
  if (m_options.secret.empty() || !m_teams.contains(team))
    return;
  json envelope = std::move(change);
  envelope["v"] = 1;
  envelope["team"] = team;
  envelope["sender"] = m_instance;
  envelope["msg"] = random_hex(16);
  envelope["ts"] = wall_ms();
  envelope["sig"] = sign(envelope);
  auto& t = m_teams[team];
  auto text = envelope.dump();
  journal_append(team, t, text);
  t.outbox.push_back({envelope["msg"].get<std::string>(), std::move(text)});
  send_next(team);
}

void Relay::on_live() {
  load_script();
  for (auto& [team, t] : m_teams) {
    t.subscribed = t.catching_up = false;
    t.in_flight = 0;
    ++t.sends; // answers still due from the lost connection no longer count
    subscribe(team);
    send_next(team);
  }
}

void Relay::subscribe(const std::string& team) {
  auto sub = m_link.subscriber();
  if (!sub)
    return;
  sub->command({"SUBSCRIBE", team_key(team, "ev")}, [this, team](util::Result<Reply> r) {
    if (!r)
      return;            // the link notices a lost connection by itself
    if (r->is_error()) { // e.g. NOPERM: an ACL user without this channel
      m_teams[team].error = "subscribing: " + r->str;
      m_log(fmt::format("team relay: subscribing to {} refused: {}", team, r->str));
      return;
    }
    auto& t = m_teams[team];
    t.subscribed = true;
    if (t.error.starts_with("subscribing"))
      t.error.clear();
    catch_up(team); // after the confirmation: nothing published from now on is missed
  });
}

void Relay::load_script() {
  // Sent ahead of the EVALSHAs on the same connection, so it is loaded before they run.
  if (auto link = m_link.commands())
    link->command({"SCRIPT", "LOAD", std::string(k_publish_script)}, [this](util::Result<Reply> r) {
      if (r && r->is_error())
        m_log(fmt::format("team relay: loading the publish script failed: {}", r->str));
    });
}

void Relay::send_next(const std::string& team) {
  auto& queue = m_teams[team];
  auto link = m_link.commands();
  if (!link)
    return;
  // Pipelined: answers come back in the order sent, each one for the oldest entry in flight.
  while (queue.in_flight < queue.outbox.size() && queue.in_flight < m_options.window) {
    const auto& envelope = queue.outbox[queue.in_flight++];
    link->command({"EVALSHA", m_script_sha, "3", team_key(team, "meta"), team_key(team, "log"),
                   team_key(team, "msg:" + envelope.msg), team_key(team, "ev"), envelope.text,
                   std::to_string(m_options.history), m_new_epoch,
                   std::to_string(m_options.history_ttl.count())},
                  [this, team, sends = queue.sends](util::Result<Reply> r) {
                    auto& t = m_teams[team];
                    if (sends != t.sends)
                      return;
                    if (!r)
                      return; // the link is lost: sent again when it is live again
                    if (r->is_error() && r->str.starts_with("NOSCRIPT")) { // flushed meanwhile
                      t.in_flight = 0;
                      ++t.sends;
                      load_script();
                      send_next(team);
                      return;
                    }
                    if (r->is_error()) {
                      // Refused (permissions, memory): the entries stay in the outbox and go again
                      // with the next change or connection.
                      if (t.error != r->str)
                        m_log(
                            fmt::format("team relay: publishing to {} refused: {}", team, r->str));
                      t.error = "publishing: " + r->str;
                      t.in_flight = 0;
                      ++t.sends;
                      return;
                    }
                    t.error.clear();
                    // Our candidate started a history: should that history ever be lost, the
                    // next must differ, or teammates would take new sequences for old ones.
                    if (!r->elements.empty() && r->elements[0].str == m_new_epoch)
                      m_new_epoch = random_hex(8);
                    t.outbox.pop_front();
                    --t.in_flight;
                    ++m_published;
                    if (t.outbox.empty())
                      journal_clear(team, t);
                    else if (t.journal_lines > 4096 && t.journal_lines > 4 * t.outbox.size())
                      journal_rewrite(team, t);
                    send_next(team);
                  });
  }
}

void Relay::catch_up(const std::string& team) {
  auto& reading = m_teams[team];
  auto link = m_link.commands();
  if (reading.catching_up || !link)
    return;
  set_catching_up(team, true);
  link->command({"HGET", team_key(team, "meta"), "epoch"}, [this, team](util::Result<Reply> epoch) {
    auto& t = m_teams[team];
    auto cmd = m_link.commands();
    if (!epoch || !cmd) {
      set_catching_up(team, false);
      return;
    }
    if (epoch->type == Reply::Type::string && !t.epoch.empty() && epoch->str != t.epoch) {
      ++m_resyncs;
      m_deliver(team, {{"kind", "resync"},
                       {"team", team},
                       {"reason", "the team's history was reset; updates may have been missed"}});
      t.last_seq = t.seen_seq = 0; // positions in the old history mean nothing now
    }
    if (epoch->type == Reply::Type::string)
      t.epoch = epoch->str;
    auto page = std::make_shared<std::function<void()>>();
    *page = [this, team, page] {
      auto conn = m_link.commands();
      if (!conn) {
        set_catching_up(team, false);
        *page = nullptr;
        return;
      }
      long long from = m_teams[team].last_seq;
      conn->command({"XRANGE", team_key(team, "log"), fmt::format("({}-0", from), "+", "COUNT",
                     std::to_string(k_page)},
                    [this, team, page, from](util::Result<Reply> r) {
                      auto& pos = m_teams[team];
                      if (!r || r->is_error()) {
                        set_catching_up(team, false);
                        *page = nullptr;
                        return;
                      }
                      bool first = true;
                      for (const auto& entry : r->elements) {
                        if (entry.elements.size() != 2)
                          continue;
                        long long seq = std::atoll(entry.elements[0].str.c_str());
                        if (first && from > 0 && seq > from + 1) {
                          ++m_resyncs;
                          m_deliver(team, {{"kind", "resync"},
                                           {"team", team},
                                           {"reason", fmt::format("{} update(s) were trimmed from "
                                                                  "the team's history",
                                                                  seq - from - 1)}});
                        }
                        first = false;
                        std::string e, p;
                        const auto& fields = entry.elements[1].elements;
                        for (size_t i = 0; i + 1 < fields.size(); i += 2)
                          (fields[i].str == "e" ? e : p) = fields[i + 1].str;
                        pos.last_seq = std::max(pos.last_seq, seq - 1);
                        receive(team, e.empty() ? pos.epoch : e, seq, p, true);
                      }
                      if (r->elements.size() == static_cast<size_t>(k_page)) {
                        (*page)();
                        return;
                      }
                      set_catching_up(team, false);
                      *page = nullptr;
                      m_unsaved.insert(team);
                      save_soon();
                      // Published while the last page was read, or a new epoch announced.
                      if (pos.seen_seq > pos.last_seq || std::exchange(pos.read_again, false))
                        catch_up(team);
                    });
    };
    (*page)();
  });
}

void Relay::on_push(const Reply& push) {
  if (push.elements.size() != 3 || push.elements[0].str != "message")
    return;
  const auto& channel = push.elements[1].str;
  constexpr std::string_view prefix = "kodebase:{", suffix = "}:ev";
  if (!channel.starts_with(prefix) || !channel.ends_with(suffix))
    return;
  auto team = channel.substr(prefix.size(), channel.size() - prefix.size() - suffix.size());
  if (!m_teams.contains(team))
    return;
  const auto& frame = push.elements[2].str;
  auto colon1 = frame.find(':');
  auto colon2 = colon1 == std::string::npos ? colon1 : frame.find(':', colon1 + 1);
  if (colon2 == std::string::npos) {
    ++m_dropped;
    return;
  }
  long long seq = std::atoll(frame.substr(colon1 + 1, colon2 - colon1 - 1).c_str());
  auto& t = m_teams[team];
  auto epoch = frame.substr(0, colon1);
  if (!t.epoch.empty() && epoch != t.epoch) {
    // A reset history (the server lost it, or it expired): the catch-up sees the new epoch,
    // reports the resync and reads the new history from its start.
    if (t.catching_up)
      t.read_again = true;
    else
      catch_up(team);
    return;
  }
  t.seen_seq = std::max(t.seen_seq, seq);
  if (t.catching_up || seq > t.last_seq + 1) { // a gap: the stream has what is missing
    if (!t.catching_up)
      catch_up(team);
    return;
  }
  receive(team, epoch, seq, frame.substr(colon2 + 1), false);
  m_unsaved.insert(team);
  save_soon();
}

void Relay::receive(const std::string& team, const std::string& epoch, long long seq,
                    const std::string& payload, bool from_stream) {
  auto& t = m_teams[team];
  if (seq <= t.last_seq)
    return; // seen already
  auto envelope = payload.size() > k_max_envelope ? json() : util::parse_json_bounded(payload);
  bool valid = envelope.is_object() && envelope.value("team", "") == team &&
               envelope["sig"].is_string() && envelope["msg"].is_string() &&
               envelope["ts"].is_number_integer() && !m_options.secret.empty();
  if (valid) {
    auto expected = sign(envelope);
    auto given = envelope["sig"].get<std::string>();
    valid = given.size() == expected.size() &&
            CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0 &&
            std::llabs(envelope["ts"].get<long long>() - wall_ms()) <= k_max_skew_ms &&
            !m_recent.contains(envelope["msg"].get<std::string>());
  }
  // A stream entry holds its place whatever it carries; a pub/sub frame's sequence counts only
  // when its envelope is genuine (else a forged frame could hide the next real ones).
  if (from_stream || valid) {
    t.last_seq = seq;
    if (t.epoch.empty())
      t.epoch = epoch;
  }
  if (!valid) {
    ++m_dropped;
    return;
  }
  auto msg = envelope["msg"].get<std::string>();
  m_recent.insert(msg);
  m_recent_ids.push_back(msg);
  if (m_recent_ids.size() > k_replay_window) {
    m_recent.erase(m_recent_ids.front());
    m_recent_ids.pop_front();
  }
  if (envelope.value("sender", "") == m_instance) {
    ++m_echoes;
    return;
  }
  ++m_received;
  m_deliver(team, envelope);
}

json Relay::status() const {
  json teams = json::array();
  for (const auto& [team, t] : m_teams)
    teams.push_back({{"team", team},
                     {"epoch", t.epoch},
                     {"last_seq", t.last_seq},
                     {"outbox", t.outbox.size()},
                     {"subscribed", t.subscribed},
                     {"catching_up", t.catching_up},
                     {"error", t.error.empty() ? json(nullptr) : json(t.error)}});
  return {{"teams", teams},           {"signing", !m_options.secret.empty()},
          {"published", m_published}, {"received", m_received},
          {"echoes", m_echoes},       {"dropped", m_dropped},
          {"resyncs", m_resyncs}};
}

} // namespace kb::daemon::realtime
