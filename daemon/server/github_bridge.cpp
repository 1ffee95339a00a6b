// GitHub's side of requests: the proxy and github.sock, and the pull-request workflow of
// start, submit and sync.
#include "daemon/server/daemon.hpp"

namespace kb::daemon::server {

bool Daemon::github_request(const std::shared_ptr<Session>& session,
                            const protocol::Request& request, bool answer) {
  auto finish = [this, session, id = request.id, answer](util::Result<json> result) {
    if (answer)
      session->send(protocol::serialize(
          result
              ? protocol::Response{id, std::move(*result), std::nullopt}
              : protocol::error_response(id, protocol::k_invalid_params, result.error().message)));
    m_last_activity = Clock::now();
    session->resume();
  };
  m_last_activity = Clock::now();
  if (!m_github) {
    finish(util::make_error(util::ErrorKind::unavailable,
                            "the GitHub proxy is not running; see `kodebase daemon log`"));
    return false;
  }
  if (request.method == protocol::method::github_batch) {
    github::run_batch(*m_github, request.params, std::move(finish));
    return false;
  }
  auto r = github::request_from_json(request.params);
  if (!r) {
    finish(r.error());
    return false;
  }
  m_github->handle(std::move(*r), [finish = std::move(finish)](github::ProxyReply reply) mutable {
    finish(github::reply_to_json(reply));
  });
  return false;
}

void Daemon::start_github() {
  m_github = std::make_unique<github::Proxy>(m_io, m_options.github);
  if (auto st = m_github->open(); !st)
    m_log.info("GitHub cache unavailable ({}); answers are not kept", st.error().message);
  m_pulls = std::make_unique<PullRequests>(
      *m_github, m_ctx,
      [this](const fs::path& root, std::function<JsonResult()> work, Finish done) {
        in_lane(root, std::move(work), std::move(done));
      },
      [this](const fs::path& root, const std::string& cause) {
        m_projects.note_cause(root, cause);
      });
  sync_in_background();
  m_github_door =
      std::make_unique<github::HttpDoor>(m_io, *m_github, m_options.max_frame, m_options.http);
  if (auto st = m_github_door->listen(m_options.paths.github); !st) {
    m_log.info("{}", st.error().message);
    m_github_door.reset();
    return;
  }
  m_log.info("GitHub API ({}) on {}", m_options.github.api_url, m_options.paths.github.string());
  if (m_options.github_port < 0)
    return;
  if (auto st = m_github_door->listen_loopback(static_cast<unsigned short>(m_options.github_port));
      !st)
    m_log.info("{}", st.error().message);
  else
    m_log.info("GitHub API also on http://127.0.0.1:{}", m_github_door->loopback_port());
}

bool Daemon::with_pull_request(const std::shared_ptr<Session>& session, protocol::Request request,
                               bool answer) {
  auto directory = request.params.is_object() ? request.params.value("directory", "") : "";
  bool start = request.method == protocol::method::artifacts_start;
  // Without pull requests: the plain transition (a start claimed first when a team is on).
  auto plain = [this, session, answer, start](protocol::Request r, Amend then) {
    if (start)
      start_claimed(session, std::move(r), answer, std::move(then));
    else
      respond_in_lane(session, std::move(r), answer, std::move(then));
  };
  if (directory.empty() || !m_pulls || request.params.value("dry_run", false) ||
      (start && !request.params.value("branch", true))) {
    plain(std::move(request), {});
    return false;
  }
  auto root = WarmProjects::root_of(directory);
  if (auto token = request.params.value("token", ""); !token.empty())
    m_tokens[root] = token; // for the background checks for merges (memory only)
  m_pulls->plan(root, request.params, [=, this](util::Result<json> facts) {
    if (!facts)
      return settle(session, request.id, answer, facts.error());
    if (!(*facts)["on"].get<bool>()) {
      auto why = facts->value("why", "");
      plain(request, [why](protocol::Response r, Send send) {
        if (!r.error && r.result && r.result->is_object())
          (*r.result)["pull_request"] = {{"skipped", why}};
        send(std::move(r));
      });
      return;
    }
    if (!start) {
      m_pulls->submit(*facts, request.params, [=, this](util::Result<json> r) {
        settle(session, request.id, answer, std::move(r));
        broadcast();
      });
      return;
    }
    auto asked = request;
    asked.params["commit"] = true; // the pull request needs a commit to show
    plain(asked, [this, facts = *facts, params = asked.params](protocol::Response r, Send send) {
      if (r.error || !r.result || !r.result->is_object())
        return send(std::move(r));
      auto branch = (*r.result)["branch"];
      if (branch.is_object() && branch.contains("current") &&
          branch.value("current", "") != branch.value("name", "")) {
        (*r.result)["pull_request"] = {
            {"skipped", fmt::format("not on branch {}; `git switch {}` and start it again",
                                    branch.value("name", ""), branch.value("name", ""))}};
        return send(std::move(r));
      }
      auto shared = std::make_shared<protocol::Response>(std::move(r));
      m_pulls->after_start(facts, params, [shared, send](util::Result<json> pr) {
        (*shared->result)["pull_request"] = pr ? *pr : json{{"error", pr.error().message}};
        send(std::move(*shared));
      });
    });
  });
  return false;
}

bool Daemon::pull_request_request(const std::shared_ptr<Session>& session,
                                  const protocol::Request& request, bool answer) {
  auto finish = [session, id = request.id, answer](util::Result<json> r) {
    settle(session, id, answer, std::move(r));
  };
  auto params = request.params.is_object() ? request.params : json::object();
  auto directory = params.value("directory", "");
  if (!m_pulls) {
    finish(util::make_error(util::ErrorKind::unavailable,
                            "the GitHub proxy is not running; see `kodebase daemon log`"));
    return false;
  }
  if (directory.empty()) {
    finish(util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("{} needs the project's directory", request.method)));
    return false;
  }
  auto root = WarmProjects::root_of(directory);
  if (auto token = params.value("token", ""); !token.empty())
    m_tokens[root] = token;
  if (request.method == protocol::method::github_pr) {
    if (params.value("id", "").empty()) {
      finish(util::make_error(util::ErrorKind::invalid_argument,
                              "which artifact? give its ID, e.g. A.1.2"));
      return false;
    }
    m_pulls->show(root, params, finish);
    return false;
  }
  m_pulls->sync(root, params, [this, finish](util::Result<json> r) {
    finish(std::move(r));
    broadcast();
  });
  return false;
}

void Daemon::sync_project(const fs::path& root, json params) {
  if (!m_pulls || !m_syncing.insert(root).second)
    return; // one check per project at a time
  if (auto it = m_tokens.find(root); it != m_tokens.end() && !params.contains("token"))
    params["token"] = it->second;
  params["background"] = true; // yields to the rate-limit reserve
  m_pulls->sync(root, params, [this, root](util::Result<json> r) {
    m_syncing.erase(root);
    if (!r) {
      m_log.info("checking {} for merged pull requests: {}", root.string(), r.error().message);
      return;
    }
    for (const auto& c : (*r)["completed"])
      m_log.info("{}: pull request #{} merged; {} completed", root.string(),
                 c["pull_request"].value("number", 0), c.value("id", ""));
    broadcast();
  });
}

void Daemon::sync_in_background() {
  if (m_options.sync_interval.count() <= 0 || m_stopping)
    return;
  m_sync.expires_after(m_options.sync_interval);
  m_sync.async_wait([this](boost::system::error_code ec) {
    if (ec || m_stopping)
      return;
    for (const auto& [root, lane] : m_lanes)
      if (!root.empty())
        sync_project(root, json::object());
    sync_in_background();
  });
}

} // namespace kb::daemon::server
