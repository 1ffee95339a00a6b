// `team`: the daemon's link to the team's Redis (the realtime relay).
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace kb::cli {

namespace {

namespace method = protocol::method;

std::string status_line(const Session& s, const json& r) {
  auto state = r.value("state", "disabled");
  auto url = r["url"].is_string() ? r["url"].get<std::string>() : std::string();
  auto reason = r["reason"].is_string() ? r["reason"].get<std::string>() : std::string();
  const auto& st = s.style();
  if (state == "disabled")
    return "team relay: disabled (`kodebase team connect URL` turns it on)\n";
  if (state == "live") {
    auto text = fmt::format("team relay: {}  {}  (up {} s, {} pings, {} reconnects)\n",
                            st.bold("live"), url, r.value("live_seconds", 0LL),
                            r.value("pings", 0LL), r.value("reconnects", 0LL));
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
  if (want_live && state != "live")
    return k_exit_failed;
  return k_exit_ok;
}

} // namespace

void register_team_commands(CLI::App& app, CommandRegistry& registry) {
  auto* team = app.add_subcommand("team", "The link to your team's Redis (realtime updates)");
  team->require_subcommand(1);
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
}

} // namespace kb::cli
