#pragma once

#include "core/artifact/index.hpp"
#include "core/repo/project.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The settings kodebase reads: where each lives, its type and default, and the presets that
// set several at once. `config get|set|list|preset` edit them; hooks and writers read them
// through setting_value.
namespace kb::api {

enum class SettingScope { user, project };
enum class SettingType { boolean, text, choice, actor, seconds }; // seconds: any whole number

struct Setting {
  std::string_view key; // dotted path in its file
  SettingScope scope;
  SettingType type;
  std::string_view fallback;             // default, as text ("" when none)
  std::vector<std::string_view> choices; // for choice
  std::string_view summary;
};

// Every setting, in the order `config list` shows them.
std::span<const Setting> settings_table();
const Setting* find_setting(std::string_view key);

// $XDG_CONFIG_HOME/kodebase/config.yml (or ~/.config/kodebase/config.yml).
std::filesystem::path user_config_file();

// The file a setting lives in (project settings need the project).
std::filesystem::path setting_file(const Setting& s, const repo::Project* project);

// The value written in the file (null when absent or unreadable). Project files are read
// without following links (`follow_links` false): a cloned repository may make them point
// anywhere.
nlohmann::json written_value(const std::filesystem::path& file, std::string_view key,
                             bool follow_links = false);

// `written` (null when absent), else the default, typed: booleans as bool, seconds as a
// number; null when there is neither.
nlohmann::json effective_value(const Setting& s, nlohmann::json written);

// The value in effect: written, else the default (booleans as bool, other settings as text,
// "" when they have no default).
nlohmann::json setting_value(const repo::Project& project, std::string_view key);
bool setting_enabled(const repo::Project& project, std::string_view key);

// How artifact files are read, from the user's artifacts.max_file_kb setting.
artifact::ReadLimits read_limits();

// A preset: settings and their values, applied together by `config preset`.
struct Preset {
  std::string_view name;
  std::string_view summary;
  std::vector<std::pair<std::string_view, std::string_view>> values;
};
std::span<const Preset> presets_table();

} // namespace kb::api
