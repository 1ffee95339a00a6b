#pragma once

#include "core/api/context.hpp"
#include "daemon/github/proxy.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>

// Pull requests for artifacts, every GitHub call through the proxy (cached, within the
// rate limits): `start` pushes the branch named by the artifact and opens a draft pull
// request `<id>: <title>` whose body is the context pack (or finds the open one); `submit`
// marks it ready and records pr_number, pr_branch and pr_head_sha in the in_review event;
// `sync` completes the in-review artifacts whose own branch was merged; `show` is `kodebase pr`.
namespace kb::daemon::server {

using JsonResult = util::Result<nlohmann::json>;
using Finish = std::function<void(JsonResult)>;
// Runs `work` on the project's lane (one request at a time per project, on a worker), then
// `done` with its result on the event loop.
using LaneRunner = std::function<void(const std::filesystem::path& root,
                                      std::function<JsonResult()> work, Finish done)>;

class PullRequests {
public:
  // `note(root, cause)` is called on the project's lane right before a write, so that
  // subscribers see the change as caused by it.
  using CauseNote = std::function<void(const std::filesystem::path&, const std::string&)>;
  PullRequests(github::Proxy& proxy, api::Context& ctx, LaneRunner lane, CauseNote note)
      : m_proxy(proxy), m_ctx(ctx), m_lane(std::move(lane)), m_note(std::move(note)) {}

  // Whether pull requests are on for `params` (directory, id, token): `done` gets the
  // project's facts with `on` (bool) and, when off, `why`; an error when github.pull_requests
  // asks for them and they cannot be had (no GitHub origin, no token).
  void plan(const std::filesystem::path& root, const nlohmann::json& params, Finish done);
  // After a successful start: the branch pushed and its pull request found or opened.
  // `done` gets the answer's `pull_request` part: {number, url, draft, created} or
  // {error, hint, output}.
  void after_start(const nlohmann::json& facts, const nlohmann::json& params, Finish done);
  // submit with pull requests on: refused while artifact files are uncommitted, off the
  // artifact's branch or without an open pull request; else marked ready, in_review appended
  // with the pull request's number, branch and head, committed and pushed.
  void submit(const nlohmann::json& facts, const nlohmann::json& params, Finish done);
  // The in-review artifacts (params.ids: only these) whose pull request, from their own
  // branch, was merged: completed (trigger pr_merged) with the readiness cascade, once.
  void sync(const std::filesystem::path& root, const nlohmann::json& params, Finish done);
  // `kodebase pr ID`: the artifact's state, its pull request, checks and reviews.
  void show(const std::filesystem::path& root, const nlohmann::json& params, Finish done);

private:
  using Reply = std::function<void(github::ProxyReply)>;
  void call(const std::string& method, const std::string& target, const nlohmann::json& body,
            const nlohmann::json& params, Reply then);
  // The open (or with `all`, the latest) pull request whose head is `branch`, or null.
  void find(const std::string& repository, const std::string& branch, bool all,
            const nlohmann::json& params, Finish done);
  // The pull request `recorded` in an in_review event ({pr_number}), else the latest from
  // `branch`; null when there is none.
  void pull_of(const std::string& repository, const std::string& id, const nlohmann::json& recorded,
               const std::string& branch, const nlohmann::json& params, Finish done);
  void push(const nlohmann::json& facts, const std::string& branch, Finish done);
  // One sync over a project's in-review artifacts, a step at a time (pull_requests.cpp).
  struct SyncRun;
  friend struct SyncRun;

  github::Proxy& m_proxy;
  api::Context& m_ctx;
  LaneRunner m_lane;
  CauseNote m_note;
};

} // namespace kb::daemon::server
