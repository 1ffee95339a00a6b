#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace kb::cli {

// What completions know of one option, read from the CLI11 tree.
struct OptionInfo {
  std::vector<std::string> longs, shorts;
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices; // from IsMember validators
};

// What completions know of one subcommand.
struct CommandInfo {
  std::string name, description;
  std::vector<std::string> aliases;
  std::vector<OptionInfo> options;
  bool takes_id = false; // a positional artifact ID
  std::vector<std::string> positional_choices;
};

// Every subcommand and global option of `app`, in definition order.
std::vector<CommandInfo> describe_commands(const CLI::App& app);
std::vector<OptionInfo> describe_options(const CLI::App& app);

// A completion script for `shell` (bash, zsh or fish) generated from the command table.
std::string completion_script(const CLI::App& app, const std::string& shell);

} // namespace kb::cli
