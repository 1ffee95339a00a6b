#include "core/api/settings.hpp"

#include "core/artifact/yaml.hpp"
#include "core/util/file.hpp"

#include <charconv>
#include <cstdlib>
#include <fmt/format.h>
#include <mutex>
#include <sys/stat.h>

namespace kb::api {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Keys under `gitOps` follow the upstream settings file, so a project configured for the
// original tool keeps its meaning here; `hooks.*` are kodebase's own.
const std::vector<Setting> k_settings = {
    {"actor",
     SettingScope::user,
     SettingType::actor,
     "",
     {},
     "who you are when KODEBASE_ACTOR is unset (Name (email))"},
    {"artifacts.max_file_kb",
     SettingScope::user,
     SettingType::seconds,
     "4096",
     {},
     "the largest artifact file kodebase reads, in KiB (larger ones are reported, not read)"},
    {"daemon.idle_timeout",
     SettingScope::user,
     SettingType::seconds,
     "1800",
     {},
     "seconds the daemon waits without clients before it exits (0 = never)"},
    {"daemon.watch",
     SettingScope::user,
     SettingType::choice,
     "inotify",
     {"inotify", "poll"},
     "how the daemon notices changes: inotify, or poll (network file systems)"},
    {"github.api_url",
     SettingScope::user,
     SettingType::text,
     "https://api.github.com",
     {},
     "the GitHub API the daemon talks to (GitHub Enterprise: https://HOST/api/v3)"},
    {"github.cache_mb",
     SettingScope::user,
     SettingType::seconds,
     "256",
     {},
     "megabytes the cache of GitHub answers may hold"},
    {"github.fresh.default",
     SettingScope::user,
     SettingType::seconds,
     "60",
     {},
     "seconds a GitHub answer is served without asking GitHub (0 = always revalidate)"},
    {"github.fresh.contents",
     SettingScope::user,
     SettingType::seconds,
     "60",
     {},
     "the same for file contents (/repos/o/r/contents/...)"},
    {"github.sync_interval",
     SettingScope::user,
     SettingType::seconds,
     "300",
     {},
     "seconds between the daemon's checks for merged pull requests of in-review artifacts "
     "(0 = never)"},
    {"github.fresh.commits",
     SettingScope::user,
     SettingType::seconds,
     "300",
     {},
     "the same for commits (/repos/o/r/commits...)"},
    {"github.fresh.repository",
     SettingScope::user,
     SettingType::seconds,
     "1800",
     {},
     "the same for a repository's own record (/repos/o/r)"},
    {"realtime.redis_url",
     SettingScope::user,
     SettingType::text,
     "",
     {},
     "the team's Redis: redis://, rediss:// (TLS) or unix:// (set by `kodebase team connect`)"},
    {"realtime.ca_file",
     SettingScope::user,
     SettingType::text,
     "",
     {},
     "PEM file of CAs trusted for rediss:// besides the system's"},
    {"realtime.team_secret_file",
     SettingScope::user,
     SettingType::text,
     "",
     {},
     "file holding the secret your team's updates are signed with (0600)"},
    {"realtime.history",
     SettingScope::user,
     SettingType::seconds,
     "10000",
     {},
     "team updates kept in Redis for teammates who were away (a number of updates)"},
    {"realtime.history_ttl",
     SettingScope::user,
     SettingType::seconds,
     "0",
     {},
     "seconds the team's history is kept after its last update (0: until trimmed)"},
    {"realtime.claim_ttl",
     SettingScope::user,
     SettingType::seconds,
     "7200",
     {},
     "seconds a claim outlives its holder's daemon (`kodebase claim --ttl` overrides)"},
    {"mcp.actor",
     SettingScope::user,
     SettingType::text,
     "{agent} for {name} ({email})",
     {},
     "who an AI agent's changes through `kodebase mcp` are attributed to"},
    {"github.pull_requests",
     SettingScope::project,
     SettingType::choice,
     "auto",
     {"auto", "off", "draft", "ready"},
     "start pushes the branch and opens a pull request: draft, ready, off, or auto (draft when "
     "origin is on GitHub and a token is at hand)"},
    {"team.id",
     SettingScope::project,
     SettingType::text,
     "",
     {},
     "the team this project's updates, presence and claims belong to (default: the origin "
     "remote's OWNER/NAME)"},
    {"hooks.post_merge_complete",
     SettingScope::project,
     SettingType::boolean,
     "false",
     {},
     "post-merge completes the artifact of the merged branch"},
    {"hooks.pre_push_block_drafts",
     SettingScope::project,
     SettingType::boolean,
     "false",
     {},
     "pre-push refuses drafts going to the default branch (else warns)"},
    {"gitOps.hooks.enabled",
     SettingScope::project,
     SettingType::boolean,
     "true",
     {},
     "kodebase's git hooks act at all"},
    {"gitOps.validation.error_on_warnings",
     SettingScope::project,
     SettingType::boolean,
     "false",
     {},
     "the pre-commit gate refuses warnings too"},
    {"gitOps.branches.mainBranch",
     SettingScope::project,
     SettingType::text,
     "",
     {},
     "the default branch (empty: origin's HEAD, else main or master)"},
    {"gitOps.post_merge.strategy",
     SettingScope::project,
     SettingType::choice,
     "manual",
     {"manual", "direct_commit", "cascade_pr"},
     "post-merge artifact changes: committed (direct_commit) or left staged"},
    {"gitOps.post_merge.direct_commit.commit_prefix",
     SettingScope::project,
     SettingType::text,
     "chore(cascade): ",
     {},
     "message prefix of post-merge commits"},
};

const std::vector<Preset> k_presets = {
    {"solo",
     "one person: merges complete work and commit the cascade directly",
     {{"hooks.post_merge_complete", "true"},
      {"hooks.pre_push_block_drafts", "false"},
      {"gitOps.post_merge.strategy", "direct_commit"},
      {"gitOps.validation.error_on_warnings", "false"}}},
    {"small_team",
     "a team: merges complete work, cascade changes go through review",
     {{"hooks.post_merge_complete", "true"},
      {"hooks.pre_push_block_drafts", "false"},
      {"gitOps.post_merge.strategy", "cascade_pr"},
      {"gitOps.validation.error_on_warnings", "false"}}},
    {"enterprise",
     "strict: drafts never reach the default branch, warnings block commits",
     {{"hooks.post_merge_complete", "true"},
      {"hooks.pre_push_block_drafts", "true"},
      {"gitOps.post_merge.strategy", "cascade_pr"},
      {"gitOps.validation.error_on_warnings", "true"}}},
};

} // namespace

std::span<const Setting> settings_table() {
  return k_settings;
}

std::span<const Preset> presets_table() {
  return k_presets;
}

const Setting* find_setting(std::string_view key) {
  for (const auto& s : k_settings)
    if (s.key == key)
      return &s;
  return nullptr;
}

fs::path user_config_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  fs::path base = xdg && *xdg ? fs::path(xdg) : fs::path(home ? home : "/") / ".config";
  return base / "kodebase" / "config.yml";
}

fs::path setting_file(const Setting& s, const repo::Project* project) {
  if (s.scope == SettingScope::user)
    return user_config_file();
  return project ? project->settings_file() : fs::path();
}

json written_value(const fs::path& file, std::string_view key, bool follow_links) {
  auto text = util::read_file(file, {.max_bytes = 1 << 20, .follow_links = follow_links});
  if (!text)
    return nullptr;
  auto doc = artifact::parse_yaml(*text);
  if (!doc)
    return nullptr;
  const artifact::YamlNode* n = &*doc;
  for (size_t start = 0; n;) {
    auto dot = key.find('.', start);
    n = n->find(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return n ? n->to_json() : json(nullptr);
}

json effective_value(const Setting& s, json written) {
  json value = std::move(written);
  if (value.is_null() && !s.fallback.empty())
    value = std::string(s.fallback);
  if (s.type == SettingType::boolean && value.is_string())
    value = value == "true";
  if (s.type == SettingType::seconds && value.is_string()) {
    // A hand-written file may hold anything: what is not a whole number counts as unset.
    long long n = 0;
    const auto& text = value.get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size())
      return s.fallback.empty() ? json(nullptr) : effective_value(s, nullptr);
    value = n;
  }
  return value;
}

artifact::ReadLimits read_limits() {
  // Asked for by every load: the user's file is read again only when it changed.
  static std::mutex mutex;
  static std::pair<std::string, artifact::ReadLimits> cached{"-", {}};
  auto file = user_config_file();
  struct stat st {};
  std::string sig =
      ::stat(file.c_str(), &st) == 0
          ? fmt::format("{}:{}:{}.{}", st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
          : "";
  std::lock_guard lock(mutex);
  if (cached.first != sig) {
    const Setting* s = find_setting("artifacts.max_file_kb");
    auto kb = effective_value(*s, written_value(file, s->key, true));
    artifact::ReadLimits limits;
    if (kb.is_number_integer() && kb.get<long long>() > 0)
      limits.max_file_bytes = kb.get<std::uintmax_t>() * 1024;
    cached = {sig, limits};
  }
  return cached.second;
}

json setting_value(const repo::Project& project, std::string_view key) {
  const Setting* s = find_setting(key);
  if (!s)
    return nullptr;
  json value = effective_value(
      *s, written_value(setting_file(*s, &project), key, s->scope == SettingScope::user));
  if (value.is_null())
    value = s->type == SettingType::boolean ? json(false) : json(""); // "" when no default
  return value;
}

bool setting_enabled(const repo::Project& project, std::string_view key) {
  return setting_value(project, key) == true;
}

} // namespace kb::api
