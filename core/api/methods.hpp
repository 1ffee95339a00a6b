#pragma once

#include "core/api/context.hpp"
#include "core/protocol/jsonrpc.hpp"

#include <span>
#include <string_view>

namespace kb::api {

// A handler: plain function from params to a result, so tests need no sockets.
using Handler = util::Result<json> (*)(Context&, const json&);
// A handler that writes its result as compact JSON text itself, byte for byte what the JSON
// value would serialise to: for large results that are asked for often and cached in pieces.
using TextHandler = util::Result<std::string> (*)(Context&, const json&);

struct MethodEntry {
  std::string_view name;
  Handler handler; // null when text_handler answers
  std::string_view summary;
  TextHandler text_handler = nullptr;
};

// Every method of the kodebase API.
std::span<const MethodEntry> method_table();
const MethodEntry* find_method(std::string_view name);

// Runs one request through the table. Never throws: a handler's exception becomes an internal
// error reply, so one bad request cannot take a server down.
protocol::Response dispatch(Context& ctx, const protocol::Request& request);

// Handlers, one per method (grouped by file).
util::Result<json> project_init(Context& ctx, const json& params);
util::Result<json> project_status(Context& ctx, const json& params);
// Who is working here, for the team's presence: {name, email, branch, working_on: [{id, title,
// state}]} — the person acting (as writes resolve it; when there is none, empty with the
// reason in `unknown`), the checked-out branch, and what is in progress or in review assigned
// to them (or claimed by them: params.claimed), the branch's own artifact first. Not a
// method.
util::Result<json> presence_info(Context& ctx, const json& params);
// The next free child number under params.parent (an initiative's ordinal without one) in the
// project's tree: {parent, next}. What the daemon seeds an ID reservation with. Not a method.
util::Result<json> next_id_info(Context& ctx, const json& params);
util::Result<std::string> artifacts_list(Context& ctx, const json& params);
util::Result<json> artifacts_get(Context& ctx, const json& params);
util::Result<json> artifacts_tree(Context& ctx, const json& params);
util::Result<json> artifacts_log(Context& ctx, const json& params);
util::Result<json> artifacts_next(Context& ctx, const json& params);
util::Result<json> artifacts_context(Context& ctx, const json& params);
util::Result<json> artifacts_validate(Context& ctx, const json& params);
util::Result<json> artifacts_commits(Context& ctx, const json& params);
util::Result<json> artifacts_create(Context& ctx, const json& params);
util::Result<json> artifacts_ready(Context& ctx, const json& params);
util::Result<json> artifacts_start(Context& ctx, const json& params);
util::Result<json> artifacts_submit(Context& ctx, const json& params);
util::Result<json> artifacts_complete(Context& ctx, const json& params);
util::Result<json> artifacts_cancel(Context& ctx, const json& params);
util::Result<json> artifacts_block(Context& ctx, const json& params);
util::Result<json> artifacts_archive(Context& ctx, const json& params);
util::Result<json> artifacts_edit(Context& ctx, const json& params);
util::Result<json> artifacts_link(Context& ctx, const json& params);
util::Result<json> artifacts_unlink(Context& ctx, const json& params);
util::Result<json> artifacts_merge(Context& ctx, const json& params);
util::Result<json> artifacts_resolve(Context& ctx, const json& params);
util::Result<json> artifacts_renumber(Context& ctx, const json& params);
// The merge driver for artifact files: the `.gitattributes` line (added when missing) and
// merge.kodebase.* in the repository's git config, running `cli merge-driver`.
util::Result<json> register_merge_driver(const repo::Project& p, const std::string& cli);
// Whether this clone's git config runs kodebase's merge driver.
bool merge_driver_configured(const repo::Project& p);
util::Result<json> hooks_install(Context& ctx, const json& params);

// The pull-request workflow's local half (the daemon makes the GitHub calls).
// A project's GitHub repository (from origin), the github.pull_requests mode, default and
// current branch, HEAD, uncommitted artifact files; with params.id the artifact's title,
// type, state and the pull request its in_review event records.
util::Result<json> pull_request_facts(Context& ctx, const json& params);
// The in_review artifacts of a project, with the pull requests they record.
util::Result<json> artifacts_in_review(Context& ctx, const json& params);
// `git push --set-upstream origin BRANCH` with the user's credentials and no prompt.
util::Result<json> push_branch(Context& ctx, const json& params);
// Keeps the checked-out branch mergeable on GitHub, whose merge button merges lines without
// kodebase's driver: fetches origin's default branch and, when a merge of lines would conflict
// and only on artifact files, merges it in with the driver (a merge commit). {mergeable,
// merged: bool, conflicts: [paths], base, branch, fetched, hint}; a conflict outside artifact
// files is left to the user with the command to run. With `branch` naming another branch than
// the one checked out, that branch is only checked (a merge needs its work tree).
util::Result<json> keep_mergeable(Context& ctx, const json& params);
// The artifact of a merged pull request (params.number, params.title) completed, submitted
// first when still in progress, with the readiness cascade; its changes settled as
// settle_merge_changes says. An artifact already completed (or in another state) is left
// alone, so a merge noticed twice completes it once.
util::Result<json> complete_merged(Context& ctx, const json& params);
// Changes made because of a merge: committed when gitOps.post_merge.strategy is
// direct_commit and the default branch is checked out, else staged, with out.actions saying
// which (and out.warnings what failed).
void settle_merge_changes(const repo::Project& p, const json& files, const std::string& what,
                          json& out);
util::Result<json> hooks_uninstall(Context& ctx, const json& params);
util::Result<json> hooks_status(Context& ctx, const json& params);
util::Result<json> hooks_run(Context& ctx, const json& params);

util::Result<json> config_get(Context& ctx, const json& params);
util::Result<json> config_set(Context& ctx, const json& params);
util::Result<json> config_list(Context& ctx, const json& params);
util::Result<json> config_preset(Context& ctx, const json& params);

// The safe repairs of `validate --fix` (used by artifacts.validate with params.fix).
util::Result<json> fix_artifacts(Context& ctx, const json& params);

} // namespace kb::api
