// `daemon start|stop|restart|status|log`: the resident server's life, seen from the CLI.
#include "cli/client/daemon.hpp"
#include "cli/client/oneshot.hpp"
#include "cli/session.hpp"
#include "core/protocol/build_info.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fmt/format.h>
#include <fstream>
#include <thread>

namespace kb::cli {

namespace {

std::string duration(long long s) {
  if (s < 60)
    return fmt::format("{}s", s);
  if (s < 3600)
    return fmt::format("{}m {}s", s / 60, s % 60);
  return fmt::format("{}h {}m", s / 3600, s % 3600 / 60);
}

int print_started(Session& s, const json& hello, bool was_running) {
  if (s.globals.json)
    s.print_json({{"running", true}, {"started", !was_running}, {"pid", hello.value("pid", 0)}});
  else if (!s.globals.quiet)
    std::printf("kodebased %s (pid %d)\n", was_running ? "is already running" : "started",
                hello.value("pid", 0));
  return k_exit_ok;
}

int run_start(Session& s) {
  bool was_running = client::daemon_hello().ok();
  auto hello = client::start_daemon();
  if (!hello)
    return s.fail(hello.error());
  return print_started(s, *hello, was_running);
}

int run_stop(Session& s) {
  auto stopped = client::stop_daemon();
  if (!stopped)
    return s.fail(stopped.error());
  if (s.globals.json)
    s.print_json({{"stopped", *stopped}});
  else if (!s.globals.quiet)
    std::printf("%s\n", *stopped ? "kodebased stopped" : "kodebased was not running");
  return k_exit_ok;
}

int run_restart(Session& s) {
  if (auto stopped = client::stop_daemon(); !stopped)
    return s.fail(stopped.error());
  auto hello = client::start_daemon();
  if (!hello)
    return s.fail(hello.error());
  return print_started(s, *hello, false);
}

int run_status(Session& s) {
  auto reply = client::exchange_daemon(protocol::method::daemon_status, json::object(),
                                       client::Autostart::no);
  if (!reply) {
    if (s.globals.json) {
      s.print_json({{"running", false}});
      return k_exit_failed;
    }
    std::printf("kodebased is not running\n");
    return k_exit_failed;
  }
  auto r = client::parse_reply(*reply);
  if (!r)
    return s.fail(r.error());
  (*r)["running"] = true;
  bool same_build = r->value("build_id", "") == protocol::build_id();
  (*r)["same_build"] = same_build;
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  std::string text = fmt::format(
      "kodebased {} (build {}{}) is running\n"
      "  pid          {}\n  uptime       {}\n  socket       {}\n  log          {}\n"
      "  memory       {:.1f} MB\n  clients      {} ({} subscribed)\n  requests     {} ({} in "
      "progress)\n"
      "  idle exit    {}\n",
      r->value("version", ""), r->value("build_id", ""),
      same_build ? "" : ", not this kodebase's build: `kodebase daemon restart`",
      r->value("pid", 0), duration(r->value("uptime_seconds", 0LL)), r->value("socket", ""),
      r->value("log", ""), static_cast<double>(r->value("rss_bytes", 0LL)) / (1024 * 1024),
      r->value("clients", 0), r->value("subscribers", 0), r->value("requests", 0LL),
      r->value("requests_in_progress", 0),
      r->value("idle_timeout_seconds", 0LL) == 0
          ? std::string("never")
          : "after " + duration(r->value("idle_timeout_seconds", 0LL)) + " without clients");
  if (auto team = r->value("realtime", json::object()); team.is_object()) {
    auto state = team.value("state", "disabled");
    auto reason = team["reason"].is_string() ? team["reason"].get<std::string>() : "";
    text += fmt::format("  team relay   {}{}{}\n", state,
                        team["url"].is_string() ? "  " + team["url"].get<std::string>() : "",
                        reason.empty() ? "" : "  (" + reason + ")");
  }
  if (auto hooks = r->value("webhooks", json()); hooks.is_object())
    text += fmt::format("  webhooks     {} (port {}): {} accepted, {} refused, {} redelivered, {} "
                        "ignored, {} malformed, {} updates published\n",
                        hooks.value("listening", ""), hooks.value("port", 0),
                        hooks.value("accepted", 0LL), hooks.value("rejected", 0LL),
                        hooks.value("duplicates", 0LL), hooks.value("ignored", 0LL),
                        hooks.value("malformed", 0LL), hooks.value("published", 0LL));
  const auto& projects = (*r)["projects"];
  text += fmt::format("  projects     {}\n", projects.size());
  for (const auto& p : projects)
    text += fmt::format(
        "    {}  {} artifacts, {}, idle {}\n", p.value("root", ""), p.value("artifacts", 0),
        p.value("watch", "") == "poll" ? std::string("polled")
                                       : fmt::format("{} watched folders", p.value("watches", 0)),
        duration(p.value("idle_seconds", 0LL)));
  print(text);
  return k_exit_ok;
}

int run_log(Session& s, int lines, bool follow) {
  auto file = client::daemon_log_file();
  std::ifstream in(file);
  if (!in) {
    std::printf("no daemon log yet (%s)\n", file.c_str());
    return k_exit_ok;
  }
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (lines > 0 && tail.size() > static_cast<size_t>(lines))
      tail.pop_front();
  }
  for (const auto& line : tail)
    std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  (void)s;
  while (follow) { // until interrupted, like `tail -f`
    in.clear();
    for (std::string line; std::getline(in, line);)
      std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return k_exit_ok;
}

} // namespace

void register_daemon_commands(CLI::App& app, CommandRegistry& registry) {
  auto* daemon = app.add_subcommand("daemon", "Start, stop or inspect the resident server");
  daemon->require_subcommand(1);
  daemon->footer("kodebase starts the daemon on first use (unless KODEBASE_NO_AUTOSTART=1) and "
                 "restarts it after an upgrade; --no-daemon bypasses it.");
  registry.add(daemon->add_subcommand("start", "Start the daemon (a no-op when it runs)"),
               run_start);
  registry.add(daemon->add_subcommand("stop", "Stop the daemon and wait until it has exited"),
               run_stop);
  registry.add(daemon->add_subcommand("restart", "Stop the daemon, then start it again"),
               run_restart);
  registry.add(daemon->add_subcommand(
                   "status", "Pid, uptime, build, socket, log, memory, projects and clients"),
               run_status);
  auto lines = std::make_shared<int>(50);
  auto follow = std::make_shared<bool>(false);
  auto* log = daemon->add_subcommand("log", "Print the end of the daemon's log");
  log->add_option("-n,--lines", *lines, "How many lines (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  log->add_flag("-f,--follow", *follow, "Keep printing new lines until interrupted");
  registry.add(log, [lines, follow](Session& s) { return run_log(s, *lines, *follow); });
}

} // namespace kb::cli
