#include "daemon/realtime/presence.hpp"
#include "core/util/json.hpp"

#include <fmt/format.h>

namespace kb::daemon::realtime {

using nlohmann::json;

namespace {

// Writes this member's entry, drops the expired ones, announces a change, returns the roster.
constexpr std::string_view k_beat_script = R"(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local ok, v = pcall(cjson.decode, all[i + 1])
  if ok and type(v) == 'table' and tonumber(v.expires) and tonumber(v.expires) >= tonumber(ARGV[3]) then
    out[#out + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if ARGV[5] == '1' then redis.call('PUBLISH', KEYS[2], ARGV[1]) end
return out
)";

} // namespace

Presence::Presence(Link& link, std::string member_id, std::chrono::milliseconds interval,
                   Describe describe, Notify notify, Link::Logger log)
    : m_link(link), m_member(std::move(member_id)), m_interval(interval),
      m_describe(std::move(describe)), m_notify(std::move(notify)), m_log(std::move(log)),
      m_since(wall_ms()), m_timer(link.io()) {
  schedule();
}

void Presence::follow(const std::string& team) {
  if (team.empty() || !m_teams.insert(team).second)
    return;
  if (auto sub = m_link.subscriber())
    sub->command({"SUBSCRIBE", team_key(team, "who")}, [](util::Result<Reply>) {});
  refresh(team);
}

void Presence::on_live() {
  auto sub = m_link.subscriber();
  for (const auto& team : m_teams) {
    if (sub)
      sub->command({"SUBSCRIBE", team_key(team, "who")}, [](util::Result<Reply>) {});
    m_said.erase(team); // announce again: others may have seen this member expire meanwhile
    refresh(team);
  }
}

void Presence::schedule() {
  m_timer.expires_after(m_interval);
  m_timer.async_wait([this](boost::system::error_code ec) {
    if (ec)
      return;
    for (const auto& team : m_teams)
      refresh(team);
    schedule();
  });
}

void Presence::refresh(const std::string& team) {
  if (!m_link.commands())
    return;
  m_describe(team, [this, team](json info) {
    if (!info.is_object())
      return;
    info["member"] = m_member;
    info["since"] = m_since;
    info["kind"] = info.value("agents", json::array()).empty() ? "human" : "agent";
    auto text = info.dump();
    bool changed = m_said[team] != text;
    m_said[team] = text;
    auto link = m_link.commands();
    if (!link)
      return;
    auto now = wall_ms();
    info["seen"] = now;
    info["expires"] = now + 3 * m_interval.count();
    link->command({"EVAL", std::string(k_beat_script), "2", team_key(team, "presence"),
                   team_key(team, "who"), m_member, info.dump(), std::to_string(now),
                   std::to_string(3 * m_interval.count()), changed ? "1" : "0"},
                  [this, team](util::Result<Reply> r) {
                    if (!r)
                      return;
                    if (r->is_error()) {
                      m_log(fmt::format("team presence: {} refused: {}", team, r->str));
                      return;
                    }
                    apply_roster(team, *r);
                  });
  });
}

void Presence::read_roster(const std::string& team) {
  auto link = m_link.commands();
  if (!link)
    return;
  link->command({"HVALS", team_key(team, "presence")}, [this, team](util::Result<Reply> r) {
    if (r && !r->is_error())
      apply_roster(team, *r);
  });
}

void Presence::apply_roster(const std::string& team, const Reply& entries) {
  auto now = wall_ms();
  std::map<std::string, json> next;
  for (const auto& e : entries.elements) {
    auto v = util::parse_json_bounded(e.str);
    if (!v.is_object() || !v["member"].is_string() || v.value("expires", 0LL) < now)
      continue;
    auto member = v["member"].get<std::string>();
    next[member] = std::move(v);
  }
  auto& last = m_rosters[team];
  auto without_times = [](json v) {
    for (const char* k : {"seen", "expires"})
      v.erase(k);
    return v;
  };
  for (const auto& [member, entry] : next) {
    if (member == m_member)
      continue;
    auto old = last.find(member);
    if (old == last.end())
      m_notify(team, {{"kind", "join"}, {"member", entry}});
    else if (without_times(old->second) != without_times(entry))
      m_notify(team, {{"kind", "update"}, {"member", entry}});
  }
  for (const auto& [member, entry] : last)
    if (member != m_member && !next.contains(member))
      m_notify(team, {{"kind", "leave"}, {"member", entry}});
  last = std::move(next);
}

bool Presence::on_push(const Reply& push) {
  if (push.elements.size() != 3 || push.elements[0].str != "message")
    return false;
  const auto& channel = push.elements[1].str;
  constexpr std::string_view prefix = "kodebase:{", suffix = "}:who";
  if (!channel.starts_with(prefix) || !channel.ends_with(suffix))
    return false;
  auto team = channel.substr(prefix.size(), channel.size() - prefix.size() - suffix.size());
  if (m_teams.contains(team) && push.elements[2].str != m_member)
    read_roster(team);
  return true;
}

void Presence::leave() {
  auto link = m_link.commands();
  if (!link)
    return;
  for (const auto& team : m_teams) {
    link->command({"HDEL", team_key(team, "presence"), m_member}, [](util::Result<Reply>) {});
    link->command({"PUBLISH", team_key(team, "who"), m_member}, [](util::Result<Reply>) {});
    m_said.erase(team);
  }
}

json Presence::self(const std::string& team) const {
  auto it = m_said.find(team);
  return it == m_said.end() ? json::object() : util::parse_json_bounded(it->second);
}

json Presence::roster(const std::string& team) const {
  json out = json::array();
  auto it = m_rosters.find(team);
  if (it == m_rosters.end())
    return out;
  auto now = wall_ms();
  for (const auto& [member, entry] : it->second)
    if (entry.value("expires", 0LL) >= now) {
      auto e = entry;
      e["you"] = member == m_member;
      out.push_back(std::move(e));
    }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a.value("since", 0LL) < b.value("since", 0LL);
  });
  return out;
}

} // namespace kb::daemon::realtime
