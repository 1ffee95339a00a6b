#pragma once

#include "cli/client/oneshot.hpp"
#include "cli/render/style.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace kb::cli {

using nlohmann::json;

// Process exit codes, part of the CLI's contract.
enum ExitCode : int { k_exit_ok = 0, k_exit_failed = 1, k_exit_usage = 2, k_exit_environment = 3 };

// Options every command accepts.
struct Globals {
  std::string directory; // -C
  bool json = false;
  bool no_color = false;
  bool quiet = false;
  bool verbose = false;
  bool no_daemon = false;
};

// What a command needs while it runs: options, styling, the server, and output helpers.
class Session {
public:
  Globals globals;

  // Sets up styling and the working directory once options are parsed.
  util::Status prepare();

  const render::Style& style() const { return m_style; }
  const std::filesystem::path& directory() const { return m_directory; }

  // Calls `method` with params plus the working directory.
  util::Result<json> call(std::string_view method, json params = json::object());
  // Like call, but result.<member> is written to `out` as the server wrote it (compact JSON)
  // while it arrives, followed by a newline, instead of being parsed: for large values printed
  // unchanged. Returns the rest of the result, the member set to null. On an error reply
  // nothing is written.
  util::Result<json> call_streaming(std::string_view method, json params, std::string_view member,
                                    std::FILE* out);

  // Prints `kodebase: <message>` and the hint to stderr; returns the exit code for the kind.
  int fail(const util::Error& error) const;
  // A warning on stderr unless -q.
  void warn(std::string_view message) const;
  // Unreadable-file problems from a reply, as warnings.
  void warn_problems(const json& problems) const;
  // JSON on stdout: one document, indented on a terminal, compact otherwise.
  void print_json(const json& value) const;
  // Whether print_json writes compact JSON (stdout is not a terminal).
  bool json_is_compact() const;

private:
  util::Result<std::string> exchange(std::string_view method, json params,
                                     const client::ReplySink* sink = nullptr);

  render::Style m_style{false};
  std::filesystem::path m_directory;
};

// The absolute path of this kodebase binary (what hooks and the merge driver run).
std::string self_path();

// Writes `text` to stdout as is.
void print(std::string_view text);

// The exit code an error kind maps to.
int exit_code_for(util::ErrorKind kind);

// A subcommand's entry point, run after parsing.
using CommandRun = std::function<int(Session&)>;

// What keeping a pull request mergeable did (`base_merge` of submit and sync): a line when
// origin's default branch was merged in, a warning on stderr when the branch still conflicts.
std::string base_merge_lines(const json& merge, std::string_view who = {});
// `params` with the caller's GitHub token ($GH_TOKEN, else $GITHUB_TOKEN) when it has one: the
// daemon's GitHub calls are made with it, never stored.
void with_token(json& params);

struct CommandRegistry {
  std::vector<std::pair<CLI::App*, CommandRun>> commands;
  void add(CLI::App* sub, CommandRun run) { commands.emplace_back(sub, std::move(run)); }
};

void register_project_commands(CLI::App& app, CommandRegistry& registry);
void register_artifact_commands(CLI::App& app, CommandRegistry& registry);
void register_validate_command(CLI::App& app, CommandRegistry& registry);
void register_lifecycle_commands(CLI::App& app, CommandRegistry& registry);
void register_edit_commands(CLI::App& app, CommandRegistry& registry);
void register_hook_commands(CLI::App& app, CommandRegistry& registry);
void register_config_commands(CLI::App& app, CommandRegistry& registry);
void register_misc_commands(CLI::App& app, CommandRegistry& registry);
void register_daemon_commands(CLI::App& app, CommandRegistry& registry);
void register_watch_command(CLI::App& app, CommandRegistry& registry);
void register_github_commands(CLI::App& app, CommandRegistry& registry);
void register_mcp_command(CLI::App& app, CommandRegistry& registry);
void register_team_commands(CLI::App& app, CommandRegistry& registry);
void register_pull_request_commands(CLI::App& app, CommandRegistry& registry);
void register_merge_commands(CLI::App& app, CommandRegistry& registry);
// `merge-driver BASE OURS THEIRS MARKER-SIZE PATH` without the command table (git's call).
int merge_driver_main(char** args);

} // namespace kb::cli
