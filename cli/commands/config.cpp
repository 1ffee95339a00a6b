// `config get|set|list`.
#include "cli/render/table.hpp"
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

namespace kb::cli {

namespace method = protocol::method;

namespace {

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

} // namespace

void register_config_commands(CLI::App& app, CommandRegistry& registry) {
  auto* config = app.add_subcommand("config", "Read or change settings");
  config->require_subcommand(1);
  config->footer("Project settings live in .kodebase/config/settings.yml, yours in "
                 "$XDG_CONFIG_HOME/kodebase/config.yml; set edits the file in place.");
  auto key = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto* get = config->add_subcommand("get", "Print one setting's value");
  get->add_option("key", *key, "Setting, e.g. hooks.post_merge_complete")->required();
  get->footer("Prints the value in effect: the one written, else the default.");
  registry.add(get, [key](Session& s) {
    auto r = s.call(method::config_get, {{"key", *key}});
    if (!r)
      return s.fail(r.error());
    if (s.globals.json)
      s.print_json(*r);
    else if (!(*r)["value"].is_null())
      std::printf("%s\n", text_of((*r)["value"]).c_str());
    return (*r)["value"].is_null() ? int{k_exit_failed} : int{k_exit_ok};
  });
  auto* set = config->add_subcommand("set", "Change a setting");
  set->add_option("key", *key, "Setting")->required();
  set->add_option("value", *value, "New value")->required();
  registry.add(set, [key, value](Session& s) {
    auto r = s.call(method::config_set, {{"key", *key}, {"value", *value}});
    if (!r)
      return s.fail(r.error());
    if (s.globals.json)
      s.print_json(*r);
    else if (!s.globals.quiet)
      std::fprintf(stderr, "kodebase: %s = %s in %s\n", key->c_str(),
                   text_of((*r)["value"]).c_str(), r->value("file", "").c_str());
    return int{k_exit_ok};
  });
  auto preset = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto* apply = config->add_subcommand("preset", "Apply a preset: solo, small_team or enterprise");
  apply->add_option("name", *preset, "Preset")
      ->required()
      ->check(CLI::IsMember({"solo", "small_team", "enterprise"}));
  apply->add_flag("--dry-run", *dry_run, "Show the settings it would write");
  apply->footer("solo: merges complete work and commit the cascade directly.\n"
                "small_team: merges complete work; cascade changes are staged for review.\n"
                "enterprise: also refuses drafts on the default branch and warnings in commits.");
  registry.add(apply, [preset, dry_run](Session& s) {
    auto r = s.call(method::config_preset, {{"name", *preset}, {"dry_run", *dry_run}});
    if (!r)
      return s.fail(r.error());
    if (s.globals.json) {
      s.print_json(*r);
      return int{k_exit_ok};
    }
    for (const auto& e : (*r)["settings"])
      std::printf("%s%s = %s\n", *dry_run ? "would set " : "", e.value("key", "").c_str(),
                  text_of(e["value"]).c_str());
    return int{k_exit_ok};
  });

  auto* list = config->add_subcommand("list", "Show every setting, its value and its file");
  registry.add(list, [](Session& s) {
    auto r = s.call(method::config_list);
    if (!r)
      return s.fail(r.error());
    if (s.globals.json) {
      s.print_json((*r)["settings"]);
      return int{k_exit_ok};
    }
    render::Table table({"SETTING", "VALUE", "SCOPE", "MEANING"});
    for (const auto& e : (*r)["settings"]) {
      auto shown = e["value"].is_null() ? "-" : text_of(e["value"]);
      if (!e.value("set", false) && !e["value"].is_null())
        shown = s.style().dim(shown + " (default)");
      table.add(
          {e.value("key", ""), shown, e.value("scope", ""), s.style().dim(e.value("summary", ""))});
    }
    auto text = table.str([&](std::string_view h) { return s.style().dim(h); });
    print(text);
    return int{k_exit_ok};
  });
}

} // namespace kb::cli
