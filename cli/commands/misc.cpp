// `version`, `completion` and the hidden `__complete` the completion scripts call.
#include "cli/commands/completion.hpp"
#include "cli/session.hpp"
#include "core/protocol/build_info.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/methods.hpp"

#include <cstdio>
#include <fmt/format.h>

namespace kb::cli {

namespace {

// The states an artifact must be in for `command` to apply to it; empty means any. Completing
// `kodebase start <TAB>` then offers only what can be started.
std::vector<std::string_view> states_for(std::string_view command) {
  if (command == "ready" || command == "block")
    return {"draft"};
  if (command == "start")
    return {"ready"};
  if (command == "submit")
    return {"in_progress"};
  if (command == "complete")
    return {"in_review"};
  if (command == "cancel")
    return {"draft", "ready", "blocked", "in_progress", "in_review"};
  if (command == "archive")
    return {"cancelled", "completed"};
  return {};
}

// `__complete ids [--for COMMAND]`: one `ID<TAB>title` line per artifact the command applies
// to. Prints nothing outside a project: completion must never show an error.
int run_complete_ids(Session& s, const std::string& command) {
  json params = json::object();
  auto states = states_for(command);
  if (!states.empty())
    params["state"] = states;
  auto r = s.call(protocol::method::artifacts_list, params);
  if (!r)
    return k_exit_ok;
  std::string text;
  for (const auto& a : (*r)["artifacts"])
    text += fmt::format("{}\t{}\n", a.value("id", ""), a.value("title", ""));
  print(text);
  return k_exit_ok;
}

} // namespace

void register_misc_commands(CLI::App& app, CommandRegistry& registry) {
  auto* version = app.add_subcommand("version", "Print the version and build");
  registry.add(version, [](Session& s) {
    if (s.globals.json) {
      s.print_json({{"version", protocol::version()},
                    {"build_id", protocol::build_id()},
                    {"protocol", protocol::k_protocol_version}});
    } else {
      print(fmt::format("kodebase {} (build {}, protocol {})\n", protocol::version(),
                        protocol::build_id(), protocol::k_protocol_version));
    }
    return int{k_exit_ok};
  });

  auto shell = std::make_shared<std::string>();
  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  completion->add_option("shell", *shell, "Shell to complete for")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->footer(
      "Examples:\n"
      "  kodebase completion bash > ~/.local/share/bash-completion/completions/kodebase\n"
      "  kodebase completion zsh > \"${fpath[1]}/_kodebase\"\n"
      "  kodebase completion fish > ~/.config/fish/completions/kodebase.fish");
  registry.add(completion, [&app, shell](Session&) {
    auto script = completion_script(app, *shell);
    print(script);
    return int{k_exit_ok};
  });

  // Hidden (no group): the completion scripts' way to ask for artifact IDs.
  auto for_command = std::make_shared<std::string>();
  auto what = std::make_shared<std::string>();
  auto* complete = app.add_subcommand("__complete", "Artifact IDs for shell completion");
  complete->group("");
  complete->add_option("what", *what, "What to complete")
      ->required()
      ->check(CLI::IsMember({"ids"}));
  complete->add_option("--for", *for_command, "The command being completed");
  registry.add(complete,
               [for_command, what](Session& s) { return run_complete_ids(s, *for_command); });
}

} // namespace kb::cli
