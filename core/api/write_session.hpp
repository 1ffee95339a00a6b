#pragma once

#include "core/api/context.hpp"
#include "core/artifact/edit.hpp"
#include "core/repo/store.hpp"
#include "core/validate/finding.hpp"

#include <filesystem>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace kb::api {

// A project locked for writing, and its artifacts as they are under the lock (from the
// context's project source: read from disk in one-shot mode, the warm index in the daemon,
// whose watcher has seen every earlier writer's rename by the time the lock is ours).
struct WriteSession {
  repo::Project project;
  repo::WriteLock lock;
  std::shared_ptr<const LoadedProject> loaded;
  const artifact::ArtifactIndex& index() const { return loaded->index; }
};

// Locks the project named by params.directory and loads it.
util::Result<WriteSession> open_for_write(Context& ctx, const json& params);

// The person acting: params.actor, $KODEBASE_ACTOR, the user's `actor` setting, or git's
// user.name and user.email as `Name (email)`; fails when there is none or it is malformed.
util::Result<std::string> resolve_person(const repo::Project& p, const json& params);

// Who an action is attributed to: the person, or with params.agent (an AI agent's name, as
// the MCP adapter sends it) that agent acting for the person, in the form of the `mcp.actor`
// setting (default `{agent} for {name} ({email})`).
util::Result<std::string> resolve_actor(const repo::Project& p, const json& params);

// A string list param: absent → empty; a string counts as one item.
util::Result<std::vector<std::string>> list_param(const json& params, const char* key);

// Errors the changed files would have that they did not have before.
std::vector<validate::Finding>
new_errors(const artifact::ArtifactIndex& before,
           const std::map<std::filesystem::path, std::string>& files);

// Fails with invalid_argument naming the first key of `params` that is not in `known`
// (besides directory, actor and dry_run, which every write accepts).
util::Status check_known_fields(const json& params, std::span<const std::string_view> known);
inline util::Status check_known_fields(const json& params,
                                       std::initializer_list<std::string_view> known) {
  return check_known_fields(params, std::span(known.begin(), known.size()));
}

// The error for a change refused because of `errors`.
util::Error invalid_result(const repo::Project& project,
                           const std::vector<validate::Finding>& errors);

// Validates the new texts (refusing new errors), writes them in one transaction unless
// params.dry_run, and returns `result` with `files` and `dry_run` added.
util::Result<json> commit_files(WriteSession& session,
                                const std::map<std::filesystem::path, std::string>& files,
                                const json& params, json result);
util::Result<json> commit_edits(WriteSession& session, const artifact::EditSet& edits,
                                const json& params, json result);

} // namespace kb::api
