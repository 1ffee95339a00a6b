// `version` and `completion`.
#include "cli/commands/completion.hpp"
#include "cli/session.hpp"
#include "core/protocol/jsonrpc.hpp"

#include <cstdio>
#include <fmt/format.h>

namespace kb::cli {

void register_misc_commands(CLI::App& app, CommandRegistry& registry) {
  auto* version = app.add_subcommand("version", "Print the version and build");
  registry.add(version, [](Session& s) {
    if (s.globals.json) {
      s.print_json({{"version", KODEBASE_VERSION},
                    {"build_id", KODEBASE_BUILD_ID},
                    {"protocol", protocol::k_protocol_version}});
    } else {
      std::printf("kodebase %s (build %s, protocol %d)\n", KODEBASE_VERSION, KODEBASE_BUILD_ID,
                  protocol::k_protocol_version);
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
    std::fwrite(script.data(), 1, script.size(), stdout);
    return int{k_exit_ok};
  });
}

} // namespace kb::cli
