// `team`, `claim`, `release`, `claims`: the daemon's link to the team's Redis (the realtime
// relay), who is working on what, and the claims that keep two people off the same issue.
#include "cli/commands/team.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <optional>

namespace kb::cli {

namespace method = protocol::method;

std::string clean(std::string text) {
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  return text;
}

namespace {

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string text_of(const json& v, const char* key) {
  return v.is_object() && v[key].is_string() ? clean(v[key].get<std::string>()) : std::string();
}

// "16:05 (1h 59m left)" for a time in ms since the epoch.
std::string until(long long ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  ::localtime_r(&t, &local);
  auto left = std::max(0LL, (ms - now_ms()) / 1000);
  auto span = left >= 3600 ? fmt::format("{}h {:02}m", left / 3600, left / 60 % 60)
              : left >= 60 ? fmt::format("{}m", left / 60)
                           : fmt::format("{}s", left);
  return fmt::format("{:02}:{:02} ({} left)", local.tm_hour, local.tm_min, span);
}

std::string who(const json& v) {
  auto name = text_of(v, "name"), email = text_of(v, "email");
  if (name.empty())
    return email.empty() ? "someone" : email;
  return email.empty() ? name : fmt::format("{} <{}>", name, email);
}

} // namespace

std::string member_line(const Session& s, const json& m) {
  const auto& st = s.style();
  std::string work;
  for (const auto& a : m.value("working_on", json::array()))
    work += fmt::format("{}{} {} ({})", work.empty() ? "" : ", ", st.bold(text_of(a, "id")),
                        text_of(a, "title"), text_of(a, "state"));
  std::string agents;
  for (const auto& a : m.value("agents", json::array()))
    if (a.is_string())
      agents += (agents.empty() ? "" : ", ") + clean(a.get<std::string>());
  return fmt::format("{}{}  {}{}{}", who(m), m.value("you", false) ? st.dim(" (you)") : "",
                     work.empty() ? st.dim("nothing in progress") : work,
                     text_of(m, "branch").empty() ? "" : "  on " + text_of(m, "branch"),
                     agents.empty() ? "" : "  · " + agents);
}

std::string roster_lines(const Session& s, const json& members, std::string_view indent) {
  if (!members.is_array() || members.empty())
    return fmt::format("{}nobody is connected\n", indent);
  std::string out;
  for (const auto& m : members)
    out += fmt::format("{}{}\n", indent, member_line(s, m));
  return out;
}

std::string claim_line(const Session& s, const json& c) {
  return fmt::format("{}  {}  until {}  token {}", s.style().bold(text_of(c, "id")), who(c),
                     until(c.value("expires", 0LL)), c.value("token", 0LL));
}

std::string team_event_line(const Session& s, const std::string& method, const json& p,
                            const std::string& where) {
  const auto& st = s.style();
  if (method == method::team_presence) {
    auto kind = p.value("kind", "");
    const auto& m = p.value("member", json::object());
    if (kind == "join")
      return fmt::format("{}team  {} joined: {}", where, st.bold(who(m)), member_line(s, m));
    if (kind == "leave")
      return fmt::format("{}team  {} left", where, st.bold(who(m)));
    return fmt::format("{}team  {}", where, member_line(s, m));
  }
  if (method == method::team_state) {
    auto reason = text_of(p, "reason");
    return fmt::format("{}team relay: {}{}", where, st.bold(text_of(p, "state")),
                       reason.empty() ? "" : " (" + reason + ")");
  }
  if (method == method::team_claim_lost)
    return fmt::format("{}team  your claim on {} ran out; {} holds it now", where,
                       st.bold(text_of(p, "id")), who(p.value("holder", json::object())));
  return fmt::format("{}team: {}", where, text_of(p, "reason"));
}

namespace {

std::string status_line(const Session& s, const json& r) {
  auto state = r.value("state", "disabled");
  auto url = r["url"].is_string() ? r["url"].get<std::string>() : std::string();
  auto reason = r["reason"].is_string() ? r["reason"].get<std::string>() : std::string();
  const auto& st = s.style();
  if (state == "disabled")
    return "team relay: disabled (`kodebase team connect URL` turns it on)\n";
  if (state == "live" || state == "catching_up") {
    auto text = fmt::format("team relay: {}  {}  (up {} s, {} pings, {} reconnects)\n",
                            st.bold(state == "live" ? "live" : "live, catching up"), url,
                            r.value("live_seconds", 0LL), r.value("pings", 0LL),
                            r.value("reconnects", 0LL));
    if (!r.value("signing", false))
      text += "  no team secret: updates are not shared (`kodebase team connect URL "
              "--secret-file FILE`)\n";
    for (const auto& t : r.value("teams", json::array()))
      text += fmt::format("  {}  seq {}, {} waiting to be sent\n", t.value("team", ""),
                          t.value("last_seq", 0LL), t.value("outbox", 0));
    text +=
        fmt::format("  {} sent, {} received, {} dropped, {} resyncs\n", r.value("published", 0LL),
                    r.value("received", 0LL), r.value("dropped", 0LL), r.value("resyncs", 0LL));
    return text;
  }
  if (state == "connecting")
    return fmt::format("team relay: connecting to {}\n", url);
  return fmt::format(
      "team relay: {}  {}  {}; trying again in {:.1f} s (attempt {})\n", st.bold(state), url,
      reason, static_cast<double>(r.value("retry_in_ms", 0LL)) / 1000, r.value("attempt", 0));
}

int report(Session& s, const util::Result<json>& r, bool want_live) {
  if (!r)
    return s.fail(r.error());
  if (s.globals.json)
    s.print_json(*r);
  else
    print(status_line(s, *r));
  auto state = r->value("state", "");
  if (want_live && state != "live" && state != "catching_up")
    return k_exit_failed;
  return k_exit_ok;
}

// "2h", "90m", "45s", "1h30m" or plain seconds, in milliseconds; nullopt when malformed.
std::optional<long long> duration_ms(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  long long total = 0, number = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      if (number > 100000000)
        return std::nullopt;
      number = number * 10 + (c - '0');
      digits = true;
      continue;
    }
    long long unit = c == 'h' ? 3600 : c == 'm' ? 60 : c == 's' ? 1 : c == 'd' ? 86400 : 0;
    if (!unit || !digits)
      return std::nullopt;
    total += number * unit;
    number = 0;
    digits = false;
  }
  total += number; // trailing bare number: seconds
  if (total <= 0)
    return std::nullopt;
  return total * 1000;
}

void register_claim_commands(CLI::App& app, CommandRegistry& registry) {
  struct ClaimOptions {
    std::string id, ttl;
    bool force = false;
  };
  auto o = std::make_shared<ClaimOptions>();
  auto* claim = app.add_subcommand("claim", "Claim an artifact for yourself, so teammates see "
                                            "it taken");
  claim->add_option("id", o->id, "Artifact ID")->required();
  claim
      ->add_option("--ttl", o->ttl,
                   "How long the claim outlives your daemon (default 2h, "
                   "the realtime.claim_ttl setting)")
      ->type_name("DURATION");
  claim->add_flag("--force", o->force, "Take it over from whoever holds it");
  claim->footer("A lease in the team's Redis with a fencing token. Your daemon renews it while it\n"
                "runs; it lapses DURATION after the daemon stops, and is given back when the\n"
                "artifact is completed or cancelled. `kodebase start` claims by itself when a\n"
                "team is connected. Exits 1 when someone else holds it.");
  registry.add(claim, [o](Session& s) -> int {
    json params = {{"id", o->id}, {"force", o->force}};
    if (!o->ttl.empty()) {
      auto ms = duration_ms(o->ttl);
      if (!ms)
        return s.fail(util::make_error(util::ErrorKind::invalid_argument,
                                       fmt::format("--ttl {} is not a duration", o->ttl),
                                       {{"hint", "write it like 2h, 90m, 45s or 1h30m"}}));
      params["ttl_ms"] = *ms;
    }
    auto r = s.call(method::team_claim, params);
    if (!r)
      return s.fail(r.error());
    if (s.globals.json)
      s.print_json(*r);
    else if (!s.globals.quiet)
      print(fmt::format("{} {}\n", r->value("renewed", false) ? "renewed" : "claimed",
                        claim_line(s, (*r)["claim"])));
    return k_exit_ok;
  });

  auto r_opts = std::make_shared<ClaimOptions>();
  auto* release = app.add_subcommand("release", "Give up your claim on an artifact");
  release->add_option("id", r_opts->id, "Artifact ID")->required();
  release->add_flag("--force", r_opts->force, "Release it even when someone else holds it");
  registry.add(release, [r_opts](Session& s) -> int {
    auto r = s.call(method::team_release, {{"id", r_opts->id}, {"force", r_opts->force}});
    if (!r)
      return s.fail(r.error());
    if (s.globals.json)
      s.print_json(*r);
    else if (!s.globals.quiet)
      print(r->value("released", false) ? fmt::format("released {}\n", r_opts->id)
                                        : fmt::format("{} was not claimed\n", r_opts->id));
    return k_exit_ok;
  });

  auto* claims = app.add_subcommand("claims", "List the team's claims: who holds what, until when");
  registry.add(claims, [](Session& s) -> int {
    auto r = s.call(method::team_claims);
    if (!r)
      return s.fail(r.error());
    if (s.globals.json) {
      s.print_json(*r);
      return k_exit_ok;
    }
    std::string out;
    for (const auto& c : (*r)["claims"])
      out += claim_line(s, c) + "\n";
    print(out.empty() ? "no claims\n" : out);
    return k_exit_ok;
  });
}

} // namespace

void register_team_commands(CLI::App& app, CommandRegistry& registry) {
  auto* team = app.add_subcommand(
      "team", "Who on your team is working on what; the link to the team's Redis");
  team->require_subcommand(0, 1);
  team->footer("Without a subcommand: the teammates whose daemons are connected, what each has\n"
               "in progress, on which branch, with which AI agents, and the claims held.\n"
               "Everyone sharing a Redis and a GitHub repository (the `origin` remote) is one\n"
               "team.");
  registry.add(team, [](Session& s) -> int {
    auto r = s.call(method::team_members);
    if (!r)
      return s.fail(r.error());
    if (s.globals.json) {
      s.print_json(*r);
      return k_exit_ok;
    }
    std::string out =
        fmt::format("{}  ({})\n", s.style().bold(r->value("team", "")), r->value("state", ""));
    out += roster_lines(s, (*r)["members"], "  ");
    if (r->contains("claims") && !(*r)["claims"].empty()) {
      out += "claims\n";
      for (const auto& c : (*r)["claims"])
        out += "  " + claim_line(s, c) + "\n";
    }
    print(out);
    return k_exit_ok;
  });
  registry.add(team->add_subcommand("status", "State of the link: live, backing off, failed..."),
               [](Session& s) { return report(s, s.call(method::team_status), false); });
  auto url = std::make_shared<std::string>();
  auto ca = std::make_shared<std::string>();
  auto secret = std::make_shared<std::string>();
  auto* connect = team->add_subcommand("connect", "Use a Redis for team updates, and connect");
  connect
      ->add_option("url", *url,
                   "redis://[user:password@]host[:port][/db], rediss://... (TLS) "
                   "or unix:///path")
      ->required();
  connect
      ->add_option("--ca-file", *ca,
                   "PEM file of CAs trusted for rediss:// besides the "
                   "system's")
      ->type_name("FILE");
  connect
      ->add_option("--secret-file", *secret,
                   "File with the secret your team's updates are signed with (same for all)")
      ->type_name("FILE");
  connect->footer("The URL is kept in the realtime.redis_url setting (the file is made 0600, as\n"
                  "it may hold a password) and never printed with its password. Exits 1 when\n"
                  "the first attempt does not reach `live`; the daemon keeps trying.");
  registry.add(connect, [url, ca, secret](Session& s) {
    json params{{"url", *url}};
    if (!ca->empty())
      params["ca_file"] = std::filesystem::absolute(*ca).string();
    if (!secret->empty())
      params["secret_file"] = std::filesystem::absolute(*secret).string();
    return report(s, s.call(method::team_connect, params), true);
  });
  registry.add(team->add_subcommand("disconnect", "Stop using the team's Redis"),
               [](Session& s) { return report(s, s.call(method::team_disconnect), false); });
  register_claim_commands(app, registry);
}

} // namespace kb::cli
