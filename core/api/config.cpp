// `config get|set|list`: the user file ($XDG_CONFIG_HOME/kodebase/config.yml) and the
// project file (.kodebase/config/settings.yml), edited in place like artifacts.
#include "core/api/methods.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/edit.hpp"
#include "core/artifact/writer.hpp"
#include "core/util/file.hpp"
#include "core/validate/rules.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

namespace fs = std::filesystem;

namespace {

enum class Scope { user, project };

// A setting kodebase reads, with where it lives and what it holds.
struct Setting {
  std::string_view key;
  Scope scope;
  bool boolean;
  std::string_view summary;
};

constexpr Setting k_settings[] = {
    {"actor", Scope::user, false, "who you are when KODEBASE_ACTOR is unset (Name (email))"},
    {"hooks.post_merge_complete", Scope::project, true,
     "post-merge completes the merged artifact branch"},
    {"hooks.pre_push_block_drafts", Scope::project, true,
     "pre-push refuses drafts going to the default branch"},
};

const Setting* setting(std::string_view key) {
  for (const auto& s : k_settings)
    if (s.key == key)
      return &s;
  return nullptr;
}

util::Error unknown(std::string_view key) {
  std::vector<std::string_view> keys;
  for (const auto& s : k_settings)
    keys.push_back(s.key);
  return util::make_error(
      util::ErrorKind::invalid_argument,
      fmt::format("unknown setting '{}' (known: {})", key, fmt::join(keys, ", ")));
}

fs::path file_for(Scope scope, const json& params) {
  if (scope == Scope::project) {
    auto p = project_param(params);
    return p ? p->settings_file() : fs::path();
  }
  return user_config_file();
}

// The value at a dotted key of a YAML file, or null.
json read_value(const fs::path& file, std::string_view key) {
  auto text = util::read_file(file);
  if (!text)
    return nullptr;
  auto doc = artifact::parse_yaml(*text);
  if (!doc)
    return nullptr;
  const artifact::YamlNode* n = &*doc;
  size_t start = 0;
  while (n && start <= key.size()) {
    auto dot = key.find('.', start);
    n = n->find(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return n ? n->to_json() : json(nullptr);
}

} // namespace

fs::path user_config_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  fs::path base = xdg && *xdg ? fs::path(xdg) : fs::path(home ? home : "/") / ".config";
  return base / "kodebase" / "config.yml";
}

util::Result<json> config_get(Context&, const json& params) {
  auto key = string_param(params, "key");
  if (!key)
    return key.error();
  const Setting* s = setting(*key);
  if (!s)
    return unknown(*key);
  auto file = file_for(s->scope, params);
  json value = file.empty() ? json(nullptr) : read_value(file, *key);
  if (value.is_null() && s->boolean)
    value = false;
  return json{{"key", *key},
              {"value", value},
              {"scope", s->scope == Scope::user ? "user" : "project"},
              {"file", file.string()}};
}

util::Result<json> config_list(Context& ctx, const json& params) {
  json out = json::array();
  for (const auto& s : k_settings) {
    auto one = config_get(ctx, json{{"key", s.key}, {"directory", params.value("directory", "")}});
    if (!one)
      continue;
    (*one)["summary"] = s.summary;
    out.push_back(std::move(*one));
  }
  return json{{"settings", out}};
}

util::Result<json> config_set(Context&, const json& params) {
  auto key = string_param(params, "key");
  auto value = string_param(params, "value");
  if (!key)
    return key.error();
  if (!value)
    return value.error();
  const Setting* s = setting(*key);
  if (!s)
    return unknown(*key);
  if (s->boolean && *value != "true" && *value != "false")
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("{} is true or false, not '{}'", *key, *value));
  if (*key == "actor" && !validate::is_strict_actor(*value))
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("'{}' is not an actor", *value),
                            {{"hint", "use `Full Name (email@domain.tld)`"}});
  auto file = file_for(s->scope, params);
  if (file.empty())
    return util::make_error(util::ErrorKind::not_project, "no kodebase project here",
                            {{"hint", "run `kodebase init` first"}});
  auto text = util::read_file(file);
  std::string current = text ? *text : std::string("# kodebase settings (see `man kodebase`)\n");
  std::vector<std::string> path;
  for (size_t start = 0;;) {
    auto dot = key->find('.', start);
    path.push_back(key->substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  std::string written = s->boolean ? *value : artifact::yaml_scalar(*value, false);
  auto root = artifact::parse_yaml(current);
  if (!root)
    return util::make_error(
        util::ErrorKind::failed,
        fmt::format("{} does not parse: {}", file.string(), root.error().message));
  std::string next;
  if (!root->is_mapping() || !root->find(path[0])) {
    // A new top-level entry (or a file with only comments): append it whole.
    if (!current.empty() && current.back() != '\n')
      current += '\n';
    next = current + (path.size() == 2 ? fmt::format("{}:\n  {}: {}\n", path[0], path[1], written)
                                       : fmt::format("{}: {}\n", path[0], written));
  } else {
    auto doc = artifact::DocumentText::parse(current);
    if (!doc)
      return doc.error();
    if (auto st = doc->set_scalar(path, *value, s->boolean); !st)
      return st.error();
    next = doc->text();
  }
  if (!artifact::parse_yaml(next))
    return util::make_error(util::ErrorKind::failed, "the setting could not be written safely");
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (auto w = util::write_file_atomic(file, next); !w)
    return w.error();
  return json{{"key", *key},
              {"value", s->boolean ? json(*value == "true") : json(*value)},
              {"file", file.string()}};
}

} // namespace kb::api
