// kodebase: the thin command-line client. Parses, asks the server, renders.
#include "cli/client/merge_hint.hpp"
#include "cli/session.hpp"
#include "core/protocol/build_info.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

namespace {

constexpr const char* k_footer =
    R"(Exit status: 0 ok, 1 domain failure (validation errors, unknown ID,
refused transition), 2 usage error, 3 environment failure (no project, server unreachable).
Run `kodebase <command> --help` for a command's options; `man kodebase` for the whole manual.)";

void add_globals(CLI::App& app, kb::cli::Globals& g) {
  app.add_option("-C", g.directory, "Run as if started in DIR")->type_name("DIR");
  app.add_flag("--json", g.json, "Machine-readable JSON on stdout");
  app.add_flag("--no-color", g.no_color, "No colours (also when NO_COLOR is set)");
  app.add_flag("-q,--quiet", g.quiet, "Only data and errors; no hints or warnings");
  app.add_flag("-v,--verbose", g.verbose, "Report timings and details on stderr");
  app.add_flag("--no-daemon", g.no_daemon, "Answer in a one-shot server process, not the daemon");
}

int run(int argc, char** argv) {
  using namespace kb::cli;
  // git runs the merge driver once per file of a merge, exactly as `kodebase merge-driver %O
  // %A %B %L %P`: it skips building the whole command table.
  if (argc == 7 && std::string_view(argv[1]) == "merge-driver")
    return merge_driver_main(argv + 2);
  CLI::App app("kodebase — project work as YAML artifacts in your git repository", "kodebase");
  app.footer(k_footer);
  app.set_version_flag("--version", std::string(kb::protocol::version()));
  app.fallthrough(); // global options work after the subcommand too
  app.require_subcommand(0, 1);
  Session session;
  add_globals(app, session.globals);
  CommandRegistry registry;
  register_project_commands(app, registry);
  register_artifact_commands(app, registry);
  register_lifecycle_commands(app, registry);
  register_edit_commands(app, registry);
  register_hook_commands(app, registry);
  register_config_commands(app, registry);
  register_validate_command(app, registry);
  register_watch_command(app, registry);
  register_github_commands(app, registry);
  register_mcp_command(app, registry);
  register_team_commands(app, registry);
  register_pull_request_commands(app, registry);
  register_merge_commands(app, registry);
  register_daemon_commands(app, registry);
  register_misc_commands(app, registry);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr,
                 "kodebase: %s\nhint: run `kodebase --help` or `kodebase <command> --help`\n",
                 e.what());
    return k_exit_usage;
  }
  for (auto& [sub, command] : registry.commands) {
    if (!sub->parsed() || !sub->get_subcommands().empty())
      continue; // not given, or a subcommand of it was (`team` vs `team status`)
    if (auto st = session.prepare(); !st)
      return session.fail(st.error());
    int code = command(session);
    // Once per clone: how to let parallel branches merge (not from git's own calls, nor after
    // the command that sets it up).
    std::string name = sub->get_name(), parent = sub->get_parent()->get_name();
    if (!session.globals.quiet && name != "merge-driver" && parent != "hooks" &&
        name != "completion" && name != "__complete" && name != "mcp")
      client::hint_merge_driver(session.directory());
    return code;
  }
  std::fputs(app.help().c_str(), stdout);
  return k_exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kodebase: internal error: %s\n", e.what());
    return 3;
  }
}
