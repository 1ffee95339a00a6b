// Where each request runs: the daemon's own methods at once, the team and GitHub bridges,
// and everything else on its project's lane.
#include "daemon/server/daemon.hpp"

namespace kb::daemon::server {

bool Daemon::handle(const std::shared_ptr<Session>& session, const std::string& frame) {
  m_last_activity = Clock::now();
  ++m_requests;
  auto message = protocol::parse_message(frame);
  if (!message) {
    int code = message.error().details.value("code", protocol::k_invalid_request);
    session->send(
        protocol::serialize(protocol::error_response(nullptr, code, message.error().message)));
    return true;
  }
  protocol::Request request;
  bool answer = true;
  if (auto* r = std::get_if<protocol::Request>(&*message)) {
    request = std::move(*r);
  } else if (auto* n = std::get_if<protocol::Notification>(&*message)) {
    request = protocol::Request{nullptr, n->method, n->params};
    answer = false;
  } else {
    return true; // a client's response: nothing asked for one
  }
  if (auto st = protocol::check_param_types(request.params); !st) {
    if (answer)
      session->send(protocol::serialize(protocol::error_response(request.id, st.error())));
    return true;
  }
  note_agent(request.params);
  const Route* route = route_of(request.method);
  if (route && route->bridge)
    return route->bridge(*this, session, request, answer);
  protocol::Response response{request.id, json::object(), std::nullopt};
  bool here = false;
  try {
    here = route && route->here(*this, *session, request, response);
  } catch (const std::exception& e) {
    // A malformed param of a daemon-level method: an error for this request, nothing more.
    response = protocol::error_response(
        request.id,
        util::make_error(util::ErrorKind::invalid_argument,
                         fmt::format("bad request for {}: {}", request.method, e.what())));
    here = true;
  }
  if (!here) {
    respond_in_lane(session, std::move(request), answer);
    return false;
  }
  if (answer)
    session->send(protocol::serialize(response));
  return true;
}

namespace {

// A bridge of the route table: the member that serves the request (taking it by value or by
// reference), given it to keep.
template <auto Member>
bool bridge(Daemon& d, const std::shared_ptr<Session>& session, protocol::Request& request,
            bool answer) {
  return (d.*Member)(session, std::move(request), answer);
}

} // namespace

const Daemon::Route* Daemon::route_of(std::string_view method) {
  namespace m = protocol::method;
  using Req = protocol::Request;
  using Resp = protocol::Response;
  // A bridge answers later (false) or at once (true); `here` answers at once, or false to send
  // the request on to the project's lane after all.
  static const Route k_routes[] = {
      {m::github_request, bridge<&Daemon::github_request>},
      {m::github_batch, bridge<&Daemon::github_request>},
      {m::team_connect, bridge<&Daemon::team_connect>},
      {m::team_disconnect, bridge<&Daemon::team_connect>},
      {m::team_members, bridge<&Daemon::team_request>},
      {m::team_claim, bridge<&Daemon::team_request>},
      {m::team_release, bridge<&Daemon::team_request>},
      {m::team_claims, bridge<&Daemon::team_request>},
      {m::artifacts_create, bridge<&Daemon::create_reserved>},
      {m::artifacts_start, bridge<&Daemon::with_pull_request>},
      {m::artifacts_submit, bridge<&Daemon::with_pull_request>},
      {m::github_sync, bridge<&Daemon::pull_request_request>},
      {m::github_pr, bridge<&Daemon::pull_request_request>},
      {m::hello, nullptr,
       [](Daemon& d, Session&, const Req& r, Resp& out) {
         out.result = d.hello(r.params);
         return true;
       }},
      {m::daemon_status, nullptr,
       [](Daemon& d, Session&, const Req&, Resp& out) {
         out.result = d.status();
         return true;
       }},
      {m::daemon_shutdown, nullptr,
       [](Daemon& d, Session&, const Req&, Resp& out) {
         out.result = json{{"stopping", true}, {"pid", ::getpid()}};
         asio::post(d.m_io, [&d] { d.shutdown("asked by a client"); });
         return true;
       }},
      {m::github_status, nullptr,
       [](Daemon& d, Session&, const Req&, Resp& out) {
         out.result = d.github_status();
         return true;
       }},
      {m::team_status, nullptr,
       [](Daemon& d, Session&, const Req&, Resp& out) {
         out.result = d.team_status();
         return true;
       }},
      {m::cache_stats, nullptr,
       [](Daemon& d, Session&, const Req&, Resp& out) {
         out.result = d.m_github ? d.m_github->cache_stats() : json::object();
         return true;
       }},
      {m::cache_clear, nullptr,
       [](Daemon& d, Session&, const Req& r, Resp& out) {
         d.cache_clear(r, out);
         return true;
       }},
      {m::cache_prune, nullptr,
       [](Daemon& d, Session&, const Req&, Resp& out) {
         out.result = json{{"removed", d.m_github ? d.m_github->prune() : 0}};
         return true;
       }},
      {m::subscribe, nullptr,
       [](Daemon& d, Session& s, const Req& r, Resp& out) { return d.subscribe(s, r, out); }},
      {m::unsubscribe, nullptr,
       [](Daemon& d, Session& s, const Req& r, Resp& out) { return d.subscribe(s, r, out); }},
  };
  for (const auto& route : k_routes)
    if (route.method == method)
      return &route;
  return nullptr;
}

json Daemon::github_status() const {
  json result = m_github ? m_github->status() : json{{"error", "the GitHub proxy is off"}};
  result["socket"] = m_options.paths.github.string();
  auto port = m_github_door ? m_github_door->loopback_port() : 0;
  result["loopback"] = port ? json("http://127.0.0.1:" + std::to_string(port)) : json(nullptr);
  return result;
}

void Daemon::cache_clear(const protocol::Request& request, protocol::Response& response) {
  auto repo = request.params.value("repo", "");
  if (!repo.empty() && std::count(repo.begin(), repo.end(), '/') != 1) {
    response = protocol::error_response(request.id, protocol::k_invalid_params,
                                        "repo must be OWNER/NAME, not `" + repo + "`");
    return;
  }
  size_t removed = m_github ? m_github->clear(repo.empty() ? "" : "/repos/" + repo) : 0;
  response.result = json{{"removed", removed}};
}

bool Daemon::subscribe(Session& session, const protocol::Request& request,
                       protocol::Response& response) {
  auto topics = topics_of(request, response);
  // Following one project: it is loaded (on its strand) first, so that its changes are
  // watched from this moment; changes found while loading follow the reply.
  if (topics && request.method == protocol::method::subscribe &&
      request.params.contains("directory"))
    return false;
  if (topics)
    apply_topics(session, request, *topics, response);
  return true;
}

void Daemon::respond_in_lane(const std::shared_ptr<Session>& session, protocol::Request asked,
                             bool answer, Amend amend) {
  auto directory = asked.params.is_object() ? asked.params.value("directory", "") : "";
  // A merge of texts needs no project: off the project's lane, because git runs the driver
  // while that lane may be the one merging (a submit keeping its pull request mergeable).
  if (asked.method == protocol::method::artifacts_merge)
    directory.clear();
  auto root = directory.empty() ? fs::path() : WarmProjects::root_of(directory);
  // One request shared by the work and its completion: a large one is never copied.
  auto shared = std::make_shared<const protocol::Request>(std::move(asked));
  auto work = [this, shared, root]() -> protocol::Response {
    const auto& request = *shared;
    if (request.method == protocol::method::subscribe) {
      auto p = api::open_project(m_ctx, request.params);
      if (!p)
        return protocol::error_response(request.id, p.error());
      return {request.id, json{{"project", (*p)->project.root.string()}}, std::nullopt};
    }
    auto response = api::dispatch(m_ctx, request);
    // A write the daemon made is announced by the write itself, as caused by that command: its
    // changes are read now, in its lane, and reach subscribers right after the reply (the
    // watcher, which waits for events to settle, is for editors and git).
    std::string_view name = request.method;
    if (protocol::method_has(name, protocol::k_artifacts) && !response.error && !root.empty() &&
        !request.params.value("dry_run", false)) {
      m_projects.note_cause(root, "kodebase " + std::string(name.substr(name.find('.') + 1)));
      m_projects.announce_write(root);
    }
    return response;
  };
  in_lane(root, std::move(work),
          [this, session, shared, answer, root, amend](protocol::Response response) {
            const auto& request = *shared;
            if (request.method == protocol::method::subscribe && !response.error) {
              session->project = protocol::result_value(response).value("project", "");
              session->agent = request.params.value("agent", "");
              protocol::Response reply{request.id, json::object(), std::nullopt};
              if (auto topics = topics_of(request, reply))
                apply_topics(*session, request, *topics, reply);
              response = std::move(reply);
            }
            if (request.method == protocol::method::project_status && !response.error &&
                response.result)
              if (auto team = team_of(root); !team.empty()) {
                auto& r = *response.result;
                r["services"]["team"] = team_state();
                r["team"] = {{"name", team}, {"members", m_presence->roster(team)}};
              }
            auto send = [this, session, shared, answer, root](protocol::Response r) {
              if (answer)
                session->send(protocol::serialize(r));
              if (shared->method == protocol::method::config_set && !r.error &&
                  shared->params.value("key", "") == "team.id")
                m_teams.erase(root); // looked up again below, from the new setting
              if (!root.empty() && !m_teams.contains(root))
                find_team(root);
              broadcast();
              session->resume();
            };
            if (amend)
              amend(std::move(response), send);
            else
              send(std::move(response));
          });
}

void Daemon::note_agent(const json& params) {
  if (!params.is_object() || !params.contains("agent") || !params["agent"].is_string() ||
      !params.contains("directory") || !params["directory"].is_string())
    return;
  auto agent = params["agent"].get<std::string>();
  auto root = WarmProjects::root_of(params["directory"].get<std::string>());
  bool first = !m_agents[root].contains(agent);
  m_agents[root][agent] = Clock::now();
  if (auto team = team_of(root); first && m_presence && !team.empty())
    m_presence->refresh(team);
}

} // namespace kb::daemon::server
