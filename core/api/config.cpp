// `config get|set|list|preset`: the user file ($XDG_CONFIG_HOME/kodebase/config.yml) and the
// project file (.kodebase/config/settings.yml), edited in place like artifacts.
#include "core/api/methods.hpp"
#include "core/api/settings.hpp"
#include "core/artifact/edit.hpp"
#include "core/artifact/writer.hpp"
#include "core/repo/lock.hpp"
#include "core/util/file.hpp"
#include "core/validate/rules.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

namespace fs = std::filesystem;

namespace {

util::Error unknown(std::string_view key) {
  std::vector<std::string_view> keys;
  for (const auto& s : settings_table())
    keys.push_back(s.key);
  return util::make_error(
      util::ErrorKind::invalid_argument,
      fmt::format("unknown setting '{}' (known: {})", key, fmt::join(keys, ", ")),
      {{"hint", "`kodebase config list` shows every setting with its meaning"}});
}

std::string_view scope_name(const Setting& s) {
  return s.scope == SettingScope::user ? "user" : "project";
}

// The setting named by params.key, with its file (project settings need a project).
util::Result<std::pair<const Setting*, fs::path>> setting_param(const json& params) {
  auto key = string_param(params, "key");
  KB_TRY(key);
  const Setting* s = find_setting(*key);
  if (!s)
    return unknown(*key);
  if (s->scope == SettingScope::user)
    return std::pair{s, user_config_file()};
  auto project = project_param(params);
  KB_TRY(project);
  return std::pair{s, project->settings_file()};
}

json describe(const Setting& s, const fs::path& file) {
  json written = written_value(file, s.key, s.scope == SettingScope::user);
  json value = effective_value(s, written);
  json out{{"key", s.key},
           {"value", value},
           {"default", s.fallback.empty() ? json(nullptr) : json(std::string(s.fallback))},
           {"set", !written.is_null()},
           {"scope", scope_name(s)},
           {"file", file.string()},
           {"summary", s.summary}};
  if (!s.choices.empty())
    out["choices"] = s.choices;
  return out;
}

util::Status check_value(const Setting& s, const std::string& value) {
  auto bad = [&](std::string message, std::string hint = {}) {
    json details = nullptr;
    if (!hint.empty())
      details = {{"hint", std::move(hint)}};
    return util::make_error(util::ErrorKind::invalid_argument, std::move(message),
                            std::move(details));
  };
  switch (s.type) {
  case SettingType::boolean:
    if (value != "true" && value != "false")
      return bad(fmt::format("{} is true or false, not '{}'", s.key, value));
    break;
  case SettingType::choice:
    if (std::find(s.choices.begin(), s.choices.end(), value) == s.choices.end())
      return bad(
          fmt::format("{} is one of {}, not '{}'", s.key, fmt::join(s.choices, ", "), value));
    break;
  case SettingType::actor:
    if (!validate::is_strict_actor(value))
      return bad(fmt::format("'{}' is not an actor", value), "use `Full Name (email@domain.tld)`");
    break;
  case SettingType::seconds:
    if (value.empty() || value.size() > 9 ||
        value.find_first_not_of("0123456789") != std::string::npos)
      return bad(fmt::format("{} is a whole number, not '{}'", s.key, value),
                 fmt::format("{}: {}", s.key, s.summary));
    break;
  case SettingType::text: break;
  }
  return util::ok_status();
}

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> path;
  for (size_t start = 0;;) {
    auto dot = key.find('.', start);
    path.emplace_back(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    if (dot == std::string_view::npos)
      return path;
    start = dot + 1;
  }
}

// `current` with the setting written: edited in place when the file is a mapping, else (a new
// or comment-only file) the setting appended as a nested block.
util::Result<std::string> with_setting(const fs::path& file, std::string current, const Setting& s,
                                       const std::string& value) {
  bool plain = s.type == SettingType::boolean || s.type == SettingType::choice ||
               s.type == SettingType::seconds;
  auto path = split_key(s.key);
  auto root = artifact::parse_yaml(current);
  if (!root)
    return util::make_error(
        util::ErrorKind::failed,
        fmt::format("{} does not parse: {}", file.string(), root.error().message),
        {{"hint", "fix the file by hand; nothing was changed"}});
  if (root->is_mapping()) {
    auto doc = artifact::DocumentText::parse(current);
    KB_TRY(doc);
    KB_TRY(doc->set_scalar(path, value, plain));
    return doc->text();
  }
  if (!root->is_null())
    return util::make_error(util::ErrorKind::failed,
                            fmt::format("{} is not a mapping of settings", file.string()));
  if (!current.empty() && current.back() != '\n')
    current += '\n';
  for (size_t i = 0; i < path.size(); ++i)
    current +=
        std::string(2 * i, ' ') + path[i] + ":" +
        (i + 1 < path.size() ? "\n"
                             : " " + (plain ? value : artifact::yaml_scalar(value, false)) + "\n");
  return current;
}

// Writes `values` (setting → text) into their files, each file once and atomically.
util::Result<json>
write_settings(const json& params,
               const std::vector<std::pair<const Setting*, std::string>>& values) {
  std::map<fs::path, std::string> texts;
  std::optional<repo::WriteLock> lock;
  json written = json::array();
  for (const auto& [s, value] : values) {
    KB_TRY(check_value(*s, value));
    fs::path file;
    if (s->scope == SettingScope::user) {
      file = user_config_file();
    } else {
      auto project = project_param(params);
      KB_TRY(project);
      file = project->settings_file();
      if (!lock && !params.value("dry_run", false)) {
        // Project files are written under the project's lock, like artifacts.
        auto taken = repo::WriteLock::acquire(*project);
        KB_TRY(taken);
        lock.emplace(std::move(*taken));
      }
    }
    if (!texts.contains(file)) {
      auto text = util::read_file(
          file, {.max_bytes = 1 << 20, .follow_links = s->scope == SettingScope::user});
      if (!text && text.error().kind != util::ErrorKind::not_found)
        return util::make_error(util::ErrorKind::failed, text.error().message,
                                {{"hint", "fix or remove the file; nothing was changed"}});
      texts[file] = text ? *text : std::string("# kodebase settings (see `man kodebase`)\n");
    }
    auto next = with_setting(file, texts[file], *s, value);
    KB_TRY(next);
    texts[file] = std::move(*next);
    written.push_back({{"key", s->key},
                       {"value", s->type == SettingType::boolean   ? json(value == "true")
                                 : s->type == SettingType::seconds ? json(std::stol(value))
                                                                   : json(value)},
                       {"file", file.string()}});
  }
  if (!params.value("dry_run", false))
    for (const auto& [file, text] : texts) {
      std::error_code ec;
      fs::create_directories(file.parent_path(), ec);
      KB_TRY(util::write_file_atomic(file, text));
    }
  return written;
}

} // namespace

util::Result<json> config_get(Context&, const json& params) {
  auto s = setting_param(params);
  KB_TRY(s);
  return describe(*s->first, s->second);
}

util::Result<json> config_list(Context&, const json& params) {
  auto project = project_param(params);
  json out = json::array();
  for (const auto& s : settings_table()) {
    if (s.scope == SettingScope::project && !project)
      continue;
    out.push_back(describe(s, setting_file(s, project ? &*project : nullptr)));
  }
  json presets = json::array();
  for (const auto& p : presets_table())
    presets.push_back({{"name", p.name}, {"summary", p.summary}});
  return json{{"settings", out}, {"presets", presets}};
}

util::Result<json> config_set(Context&, const json& params) {
  auto s = setting_param(params);
  KB_TRY(s);
  auto value = string_param(params, "value");
  KB_TRY(value);
  auto written = write_settings(params, {{s->first, *value}});
  KB_TRY(written);
  return (*written)[0];
}

util::Result<json> config_preset(Context&, const json& params) {
  auto name = string_param(params, "name");
  KB_TRY(name);
  std::vector<std::string_view> names;
  for (const auto& p : presets_table()) {
    names.push_back(p.name);
    if (p.name != *name)
      continue;
    std::vector<std::pair<const Setting*, std::string>> values;
    for (const auto& [key, value] : p.values)
      values.emplace_back(find_setting(key), std::string(value));
    auto written = write_settings(params, values);
    KB_TRY(written);
    return json{
        {"preset", p.name}, {"settings", *written}, {"dry_run", params.value("dry_run", false)}};
  }
  return util::make_error(
      util::ErrorKind::invalid_argument,
      fmt::format("unknown preset '{}' (known: {})", *name, fmt::join(names, ", ")));
}

} // namespace kb::api
