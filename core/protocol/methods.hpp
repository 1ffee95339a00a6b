#pragma once

#include <array>
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

inline constexpr std::array all = {
    project_init,     project_status,  artifacts_list,    artifacts_get,      artifacts_tree,
    artifacts_log,    artifacts_next,  artifacts_context, artifacts_validate, artifacts_commits,
    artifacts_create, artifacts_ready, artifacts_start,   artifacts_submit,   artifacts_complete,
    artifacts_cancel, artifacts_block, artifacts_archive, artifacts_edit,     artifacts_link,
    artifacts_unlink, artifacts_merge, artifacts_resolve, artifacts_renumber, hooks_install,
    hooks_uninstall,  hooks_status,    hooks_run,         config_get,         config_set,
    config_list,      config_preset};

} // namespace kb::protocol::method
