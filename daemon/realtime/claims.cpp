#include "daemon/realtime/claims.hpp"

#include "core/util/file.hpp"
#include "core/util/json.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace kb::daemon::realtime {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// KEYS: claim, fence, index. ARGV: id, email, the new holder (JSON, no token), ttl ms, force.
// Returns {0, theirs} when held by someone else, {1, ours} renewed, {2, ours} newly taken.
constexpr std::string_view k_claim_script = R"(
local cur = redis.call('GET', KEYS[1])
local v = cjson.decode(ARGV[3])
local outcome = 2
if cur then
  local c = cjson.decode(cur)
  if c.email == ARGV[2] then
    v.token = c.token
    v.since = c.since
    outcome = 1
  elseif ARGV[5] ~= '1' then
    return {0, cur}
  end
end
if outcome == 2 then v.token = redis.call('INCR', KEYS[2]) end
local s = cjson.encode(v)
redis.call('SET', KEYS[1], s, 'PX', ARGV[4])
redis.call('ZADD', KEYS[3], v.expires, ARGV[1])
return {outcome, s}
)";

// KEYS: claim, index. ARGV: token, ttl ms, new expiry, id. 1 renewed, 0 lost.
constexpr std::string_view k_renew_script = R"(
local cur = redis.call('GET', KEYS[1])
if not cur then return {0, false} end
local c = cjson.decode(cur)
if tostring(c.token) ~= ARGV[1] then return {0, cur} end
c.expires = tonumber(ARGV[3])
local s = cjson.encode(c)
redis.call('SET', KEYS[1], s, 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], c.expires, ARGV[4])
return {1, s}
)";

// KEYS: claim, index. ARGV: token, id. Deletes the claim when it still carries that token.
constexpr std::string_view k_drop_script = R"(
local cur = redis.call('GET', KEYS[1])
if cur and tostring(cjson.decode(cur).token) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
)";

// KEYS: claim, index. ARGV: id, email, force. {1, claim} released, {0} none, {-1, theirs}.
constexpr std::string_view k_release_script = R"(
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0}
end
local c = cjson.decode(cur)
if c.email ~= ARGV[2] and ARGV[3] ~= '1' then return {-1, cur} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, cur}
)";

// KEYS: index. ARGV: now, key prefix. The live claims, soonest to expire first.
constexpr std::string_view k_list_script = R"(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[2] .. id)
  if v then out[#out + 1] = v else redis.call('ZREM', KEYS[1], id) end
end
return out
)";

json parsed(const Reply& r) {
  auto v = util::parse_json_bounded(r.str);
  return v.is_discarded() ? json(nullptr) : v;
}

} // namespace

Claims::Claims(Link& link, fs::path state_dir, std::string member_id, Lost lost, Link::Logger log)
    : m_link(link), m_file(state_dir / "claims.json"), m_member(std::move(member_id)),
      m_lost(std::move(lost)), m_log(std::move(log)), m_timer(link.io()) {
  load();
  schedule();
}

util::Error Claims::offline() const {
  return util::make_error(
      util::ErrorKind::unavailable,
      fmt::format("the team relay is {}, so claims cannot be checked", to_string(m_link.state())),
      {{"hint", m_link.state() == LinkState::disabled
                    ? "connect it with `kodebase team connect URL`"
                    : "see `kodebase team status`; it reconnects by itself"}});
}

void Claims::claim(const std::string& team, const std::string& id, const json& person,
                   std::chrono::milliseconds ttl, bool force, Done done) {
  auto link = m_link.commands();
  if (!link)
    return done(offline());
  auto now = wall_ms();
  json holder{{"id", id},
              {"name", person.value("name", "")},
              {"email", person.value("email", "")},
              {"member", m_member},
              {"since", now},
              {"expires", now + ttl.count()},
              {"ttl_ms", ttl.count()}};
  link->command(
      {"EVAL", std::string(k_claim_script), "3", team_key(team, "claim:" + id),
       team_key(team, "fence"), team_key(team, "claims"), id, holder["email"], holder.dump(),
       std::to_string(ttl.count()), force ? "1" : "0"},
      [this, team, id, ttl, done = std::move(done)](util::Result<Reply> r) {
        if (!r)
          return done(r.error());
        if (r->is_error() || r->elements.size() != 2)
          return done(
              util::make_error(util::ErrorKind::unavailable, "Redis refused the claim: " + r->str));
        auto claim = parsed(r->elements[1]);
        bool taken = r->elements[0].integer > 0;
        if (taken) {
          m_held[{team, id}] = {claim.value("token", 0LL), ttl.count()};
          save();
          schedule();
        }
        done(json{{"taken", taken}, {"renewed", r->elements[0].integer == 1}, {"claim", claim}});
      });
}

void Claims::release(const std::string& team, const std::string& id, const json& person, bool force,
                     Done done) {
  auto link = m_link.commands();
  if (!link)
    return done(offline());
  link->command(
      {"EVAL", std::string(k_release_script), "2", team_key(team, "claim:" + id),
       team_key(team, "claims"), id, person.value("email", ""), force ? "1" : "0"},
      [this, team, id, done = std::move(done)](util::Result<Reply> r) {
        if (!r)
          return done(r.error());
        if (r->is_error() || r->elements.empty())
          return done(util::make_error(util::ErrorKind::unavailable,
                                       "Redis refused the release: " + r->str));
        auto outcome = r->elements[0].integer;
        auto claim = r->elements.size() > 1 ? parsed(r->elements[1]) : json(nullptr);
        if (outcome < 0)
          return done(util::make_error(
              util::ErrorKind::conflict,
              fmt::format("{} is claimed by {} <{}>, not by you", id, claim.value("name", "?"),
                          claim.value("email", "?")),
              {{"hint", "only its holder releases it; --force takes it away"}, {"claim", claim}}));
        if (m_held.erase({team, id}) > 0)
          save();
        done(json{{"released", outcome == 1}, {"claim", claim}});
      });
}

void Claims::drop(const std::string& team, const std::string& id) {
  auto it = m_held.find({team, id});
  auto link = m_link.commands();
  if (it == m_held.end() || !link)
    return;
  link->command({"EVAL", std::string(k_drop_script), "2", team_key(team, "claim:" + id),
                 team_key(team, "claims"), std::to_string(it->second.token), id},
                [](util::Result<Reply>) {});
  m_held.erase(it);
  save();
}

void Claims::holder(const std::string& team, const std::string& id, Done done) {
  auto link = m_link.commands();
  if (!link)
    return done(offline());
  link->command({"GET", team_key(team, "claim:" + id)},
                [done = std::move(done)](util::Result<Reply> r) {
                  if (!r)
                    return done(r.error());
                  done(r->type == Reply::Type::string ? parsed(*r) : json(nullptr));
                });
}

void Claims::list(const std::string& team, Done done) {
  auto link = m_link.commands();
  if (!link)
    return done(offline());
  link->command({"EVAL", std::string(k_list_script), "1", team_key(team, "claims"),
                 std::to_string(wall_ms()), team_key(team, "claim:")},
                [done = std::move(done)](util::Result<Reply> r) {
                  if (!r)
                    return done(r.error());
                  if (r->is_error())
                    return done(util::make_error(util::ErrorKind::unavailable,
                                                 "Redis refused listing claims: " + r->str));
                  json out = json::array();
                  for (const auto& e : r->elements)
                    if (auto v = parsed(e); v.is_object())
                      out.push_back(std::move(v));
                  done(out);
                });
}

void Claims::on_live() {
  renew();
}

void Claims::schedule() {
  // A third of the shortest lease, between 200 ms and a minute.
  long long shortest = 180000;
  for (const auto& [_, h] : m_held)
    shortest = std::min(shortest, h.ttl_ms);
  m_timer.expires_after(std::chrono::milliseconds(std::clamp(shortest / 3, 200LL, 60000LL)));
  m_timer.async_wait([this](boost::system::error_code ec) {
    if (ec)
      return;
    renew();
    schedule();
  });
}

void Claims::renew() {
  auto link = m_link.commands();
  if (!link)
    return;
  for (const auto& [key, h] : m_held) {
    const auto& [team, id] = key;
    link->command({"EVAL", std::string(k_renew_script), "2", team_key(team, "claim:" + id),
                   team_key(team, "claims"), std::to_string(h.token), std::to_string(h.ttl_ms),
                   std::to_string(wall_ms() + h.ttl_ms), id},
                  [this, team, id](util::Result<Reply> r) {
                    if (!r || r->is_error() || r->elements.empty() || r->elements[0].integer == 1)
                      return;
                    auto theirs = r->elements.size() > 1 ? parsed(r->elements[1]) : json(nullptr);
                    m_log(fmt::format("team claims: the claim on {} ({}) was lost", id, team));
                    if (m_held.erase({team, id}) > 0)
                      save();
                    m_lost(team, json{{"id", id}, {"holder", theirs}});
                  });
  }
}

json Claims::held() const {
  json out = json::array();
  for (const auto& [key, h] : m_held)
    out.push_back(
        {{"team", key.first}, {"id", key.second}, {"token", h.token}, {"ttl_ms", h.ttl_ms}});
  return out;
}

void Claims::save() const {
  std::error_code ec;
  util::create_private_directories(m_file.parent_path());
  (void)util::write_file_atomic(m_file, held().dump() + "\n", 0600);
}

void Claims::load() {
  auto text = util::read_file(m_file);
  if (!text)
    return;
  auto doc = util::parse_json_bounded(*text);
  if (!doc.is_array())
    return;
  for (const auto& e : doc)
    if (e.is_object() && e["team"].is_string() && e["id"].is_string())
      m_held[{e["team"].get<std::string>(), e["id"].get<std::string>()}] = {
          e.value("token", 0LL), e.value("ttl_ms", 7200000LL)};
}

} // namespace kb::daemon::realtime
