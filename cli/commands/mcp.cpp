// `mcp`: the MCP server for AI coding agents, on stdio.
#include "cli/mcp/server.hpp"
#include "cli/session.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace kb::cli {

void register_mcp_command(CLI::App& app, CommandRegistry& registry) {
  auto options = std::make_shared<mcp::Options>();
  auto* cmd = app.add_subcommand("mcp", "Serve MCP on stdio for AI coding agents");
  cmd->add_option("--project", options->project,
                  "The project to serve (default: the client's roots, else -C or the working "
                  "directory)")
      ->type_name("DIR");
  cmd->add_flag("--read-only", options->read_only, "Offer only the tools that read");
  cmd->add_flag("--conformance-fixtures", options->conformance_fixtures)
      ->group(""); // the MCP conformance suite's fixtures, for its tests only
  cmd->footer(
      "An MCP client starts this command and talks to it over stdin/stdout (newline-delimited\n"
      "JSON-RPC; protocol versions 2024-11-05 to 2025-11-25). Answers come from the kodebase\n"
      "daemon, started when needed. Client configuration, e.g. for Claude Code or Cursor:\n"
      "  {\"mcpServers\": {\"kodebase\": {\"command\": \"kodebase\", \"args\": [\"mcp\"]}}}\n"
      "Tools: list_artifacts, get_artifact, get_context, next_work, validate_artifacts,\n"
      "github_request, create_artifact, update_artifact, transition_artifact, link_artifacts.\n"
      "Changes are attributed to the agent acting for you: the mcp.actor setting, default\n"
      "\"{agent} for {name} ({email})\". Logs go to stderr; stdout carries only MCP.");
  registry.add(cmd, [options](Session& s) {
    mcp::Options o = *options;
    if (o.project.empty() && !s.globals.directory.empty())
      o.project = s.directory().string();
    if (!o.project.empty()) {
      std::error_code ec;
      o.project = std::filesystem::absolute(o.project, ec).lexically_normal().string();
      if (!std::filesystem::is_directory(o.project, ec)) {
        std::fprintf(stderr, "kodebase: --project %s: no such directory\n", o.project.c_str());
        return static_cast<int>(k_exit_usage);
      }
    }
    int code = mcp::Server(o).run();
    // Threads that follow the daemon may still wait on it: leave without unwinding them.
    std::fflush(stderr);
    std::_Exit(code);
  });
}

} // namespace kb::cli
