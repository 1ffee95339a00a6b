#pragma once

#include <string_view>

// Names of the kodebase API methods, shared by the CLI, the daemon and the MCP adapter.
namespace kb::protocol::method {

inline constexpr std::string_view project_init = "project.init";
inline constexpr std::string_view project_status = "project.status";
inline constexpr std::string_view artifacts_list = "artifacts.list";
inline constexpr std::string_view artifacts_get = "artifacts.get";
inline constexpr std::string_view artifacts_tree = "artifacts.tree";
inline constexpr std::string_view artifacts_log = "artifacts.log";
inline constexpr std::string_view artifacts_next = "artifacts.next";
inline constexpr std::string_view artifacts_context = "artifacts.context";
inline constexpr std::string_view artifacts_validate = "artifacts.validate";
inline constexpr std::string_view artifacts_commits = "artifacts.commits";

inline constexpr std::string_view artifacts_create = "artifacts.create";
inline constexpr std::string_view artifacts_ready = "artifacts.ready";
inline constexpr std::string_view artifacts_start = "artifacts.start";
inline constexpr std::string_view artifacts_submit = "artifacts.submit";
inline constexpr std::string_view artifacts_complete = "artifacts.complete";
inline constexpr std::string_view artifacts_cancel = "artifacts.cancel";
inline constexpr std::string_view artifacts_block = "artifacts.block";
inline constexpr std::string_view artifacts_archive = "artifacts.archive";

inline constexpr std::string_view artifacts_edit = "artifacts.edit";
inline constexpr std::string_view artifacts_link = "artifacts.link";
inline constexpr std::string_view artifacts_unlink = "artifacts.unlink";
inline constexpr std::string_view artifacts_merge = "artifacts.merge";
inline constexpr std::string_view artifacts_resolve = "artifacts.resolve";
inline constexpr std::string_view artifacts_renumber = "artifacts.renumber";

inline constexpr std::string_view hooks_install = "hooks.install";
inline constexpr std::string_view hooks_uninstall = "hooks.uninstall";
inline constexpr std::string_view hooks_status = "hooks.status";
inline constexpr std::string_view hooks_run = "hooks.run";

inline constexpr std::string_view config_get = "config.get";
inline constexpr std::string_view config_set = "config.set";
inline constexpr std::string_view config_list = "config.list";
inline constexpr std::string_view config_preset = "config.preset";

// Served by the resident daemon itself rather than core/api.
inline constexpr std::string_view hello = "hello";
inline constexpr std::string_view daemon_status = "daemon.status";
inline constexpr std::string_view daemon_shutdown = "daemon.shutdown";
inline constexpr std::string_view subscribe = "subscribe";
inline constexpr std::string_view unsubscribe = "unsubscribe";
// The GitHub proxy and its cache, served by the resident daemon.
inline constexpr std::string_view github_request = "github.request";
inline constexpr std::string_view github_batch = "github.batch";
inline constexpr std::string_view github_status = "github.status";
// Pull requests of artifacts: merged ones of in-review artifacts completed; one shown.
inline constexpr std::string_view github_sync = "github.sync";
inline constexpr std::string_view github_pr = "github.pr";
inline constexpr std::string_view cache_stats = "cache.stats";
inline constexpr std::string_view cache_clear = "cache.clear";
inline constexpr std::string_view cache_prune = "cache.prune";
// The link to the team's Redis, kept by the resident daemon.
inline constexpr std::string_view team_status = "team.status";
inline constexpr std::string_view team_connect = "team.connect";
inline constexpr std::string_view team_disconnect = "team.disconnect";
inline constexpr std::string_view team_members = "team.members";
inline constexpr std::string_view team_claim = "team.claim";
inline constexpr std::string_view team_release = "team.release";
inline constexpr std::string_view team_claims = "team.claims";
// Notifications the daemon sends to subscribers.
inline constexpr std::string_view artifact_changed = "artifact.changed";
inline constexpr std::string_view repo_head = "repo.head";
// A second artifact file with a taken ID appeared (a merge of parallel adds): renumber it.
inline constexpr std::string_view artifact_duplicate = "artifact.duplicate";
inline constexpr std::string_view shutting_down = "daemon.shutting_down";
inline constexpr std::string_view resync = "resync";
inline constexpr std::string_view team_changed = "team.changed";
inline constexpr std::string_view team_resync = "team.resync";
inline constexpr std::string_view team_presence = "team.presence"; // a join, update or leave
inline constexpr std::string_view team_state = "team.state";       // the link's state changed
inline constexpr std::string_view team_claim_lost = "team.claim_lost";

} // namespace kb::protocol::method

namespace kb::protocol {

// What a caller needs to know of a method without its handler (the CLI and the MCP adapter
// know methods only by name): one fact a bit.
enum MethodFlag : unsigned {
  k_read = 1u << 0,         // changes nothing: a reply lost with the connection is asked again
  k_writes = 1u << 1,       // changes something for the caller: it carries the caller's actor
  k_artifacts = 1u << 2,    // what it changes are artifact files: subscribers hear of it as
                            // caused by "kodebase <verb>"
  k_daemon = 1u << 3,       // served by the resident daemon itself, not by core/api
  k_notification = 1u << 4, // sent by the daemon to subscribers, never asked for
};

struct MethodFacts {
  std::string_view name;
  unsigned flags;
};

// Every method and notification of the protocol, with its facts.
inline constexpr MethodFacts k_methods[] = {
    {method::project_init, k_writes},
    {method::project_status, k_read},
    {method::artifacts_list, k_read},
    {method::artifacts_get, k_read},
    {method::artifacts_tree, k_read},
    {method::artifacts_log, k_read},
    {method::artifacts_next, k_read},
    {method::artifacts_context, k_read},
    {method::artifacts_validate, k_read}, // --fix repairs are idempotent: asked again, no-ops
    {method::artifacts_commits, k_read},
    {method::artifacts_create, k_writes | k_artifacts},
    {method::artifacts_ready, k_writes | k_artifacts},
    {method::artifacts_start, k_writes | k_artifacts},
    {method::artifacts_submit, k_writes | k_artifacts},
    {method::artifacts_complete, k_writes | k_artifacts},
    {method::artifacts_cancel, k_writes | k_artifacts},
    {method::artifacts_block, k_writes | k_artifacts},
    {method::artifacts_archive, k_writes | k_artifacts},
    {method::artifacts_edit, k_writes | k_artifacts},
    {method::artifacts_link, k_writes | k_artifacts},
    {method::artifacts_unlink, k_writes | k_artifacts},
    {method::artifacts_merge, k_read}, // texts in, text out: git writes the file
    {method::artifacts_resolve, k_writes | k_artifacts},
    {method::artifacts_renumber, k_writes | k_artifacts},
    {method::hooks_install, k_writes},
    {method::hooks_uninstall, k_writes},
    {method::hooks_status, k_read},
    {method::hooks_run, k_writes},
    {method::config_get, k_read},
    {method::config_set, k_writes},
    {method::config_list, k_read},
    {method::config_preset, k_writes},
    {method::hello, k_daemon | k_read},
    {method::daemon_status, k_daemon | k_read},
    {method::daemon_shutdown, k_daemon},
    {method::subscribe, k_daemon | k_read},
    {method::unsubscribe, k_daemon | k_read},
    {method::github_request, k_daemon}, // may be a POST: never sent twice
    {method::github_batch, k_daemon},
    {method::github_status, k_daemon | k_read},
    {method::github_sync, k_daemon | k_writes}, // announces its changes with their own cause
    {method::github_pr, k_daemon | k_read},
    {method::cache_stats, k_daemon | k_read},
    {method::cache_clear, k_daemon},
    {method::cache_prune, k_daemon},
    {method::team_status, k_daemon | k_read},
    {method::team_connect, k_daemon},
    {method::team_disconnect, k_daemon},
    {method::team_members, k_daemon | k_read},
    {method::team_claim, k_daemon | k_writes},
    {method::team_release, k_daemon | k_writes},
    {method::team_claims, k_daemon | k_read},
    {method::artifact_changed, k_notification},
    {method::repo_head, k_notification},
    {method::artifact_duplicate, k_notification},
    {method::shutting_down, k_notification},
    {method::resync, k_notification},
    {method::team_changed, k_notification},
    {method::team_resync, k_notification},
    {method::team_presence, k_notification},
    {method::team_state, k_notification},
    {method::team_claim_lost, k_notification},
};

// The facts of `name`; 0 for a name the protocol does not have.
constexpr unsigned method_flags(std::string_view name) {
  for (const auto& m : k_methods)
    if (m.name == name)
      return m.flags;
  return 0;
}

constexpr bool method_has(std::string_view name, MethodFlag flag) {
  return (method_flags(name) & flag) != 0;
}

} // namespace kb::protocol
