// The team relay's side of requests: the project's team, presence, claims, ID reservations,
// and connecting to the team's Redis.
#include "daemon/server/daemon.hpp"

namespace kb::daemon::server {

namespace {

// "A.1.2 is claimed by Ada Lovelace <ada@example.com> until 16:05 (1h 59m from now)".
util::Error claimed_by_someone_else(const std::string& id, const json& claim) {
  auto expires = claim.value("expires", 0LL);
  auto left = std::max(0LL, (expires - realtime::wall_ms()) / 60000);
  std::time_t t = static_cast<std::time_t>(expires / 1000);
  std::tm local{};
  ::localtime_r(&t, &local);
  return util::make_error(
      util::ErrorKind::conflict,
      fmt::format("{} is claimed by {} <{}> until {:02}:{:02} ({}h {:02}m from now)", id,
                  claim.value("name", "someone"), claim.value("email", "?"), local.tm_hour,
                  local.tm_min, left / 60, left % 60),
      {{"claim", claim},
       {"hint", "ask them, pick other work (`kodebase next`), or take it over with --force"}});
}

} // namespace

std::string Daemon::team_of(const fs::path& root) const {
  auto it = m_teams.find(root);
  return it != m_teams.end() && it->second ? *it->second : std::string();
}

void Daemon::find_team(const fs::path& root, std::function<void(const std::string&)> then) {
  if (auto it = m_teams.find(root); it != m_teams.end()) {
    if (!then)
      return;
    if (it->second)
      then(*it->second);
    else
      m_team_waiters[root].push_back(std::move(then));
    return;
  }
  m_teams[root] = std::nullopt;
  if (then)
    m_team_waiters[root].push_back(std::move(then));
  in_lane(
      root,
      [root] {
        // The project's `team.id` setting, else the origin remote's OWNER/NAME.
        repo::Project project{root};
        if (auto id = api::written_value(project.settings_file(), "team.id"); id.is_string())
          if (auto team = realtime::team_of_id(id.get<std::string>()); !team.empty())
            return team;
        auto url = repo::git_output(project, {"remote", "get-url", "origin"});
        return url ? realtime::team_of_remote(*url) : std::string();
      },
      [this, root](std::string team) {
        m_teams[root] = team;
        if (!team.empty()) {
          m_relay->follow(team);
          m_presence->follow(team);
          watch_changes();
        }
        auto waiters = std::move(m_team_waiters[root]);
        m_team_waiters.erase(root);
        for (auto& w : waiters)
          w(team);
      });
}

void Daemon::notify_team(const std::string& team, std::string_view method, const json& params) {
  std::set<std::string> roots;
  for (const auto& [root, t] : m_teams)
    if (team.empty() || (t && *t == team))
      roots.insert(root.string());
  for (const auto& root : roots) {
    json p = params;
    p["project"] = root;
    send_to_followers(root, protocol::serialize(protocol::Notification{std::string(method), p}));
  }
}

void Daemon::describe(const std::string& team, std::function<void(json)> done) {
  fs::path root;
  for (const auto& [r, t] : m_teams)
    if (t && *t == team) {
      root = r;
      break;
    }
  if (root.empty())
    return;
  std::set<std::string> agents;
  auto now = Clock::now();
  for (auto it = m_agents[root].begin(); it != m_agents[root].end();)
    if (now - it->second > std::chrono::minutes(10))
      it = m_agents[root].erase(it);
    else
      agents.insert((it++)->first);
  for (const Session* s : m_sessions)
    if (!s->agent.empty() && s->project == root.string())
      agents.insert(s->agent);
  json claimed = json::array();
  for (const auto& h : m_claims->held())
    if (h.value("team", "") == team)
      claimed.push_back(h["id"]);
  in_lane(
      root,
      [this, root, claimed] {
        return api::presence_info(m_ctx, {{"directory", root.string()}, {"claimed", claimed}});
      },
      [done = std::move(done), agents](util::Result<json> info) {
        if (!info)
          return;
        (*info)["agents"] = agents;
        done(std::move(*info));
      });
}

void Daemon::team_update(const std::string& team, const json& envelope) {
  bool resync = envelope.value("kind", "") == "resync";
  if (m_github)
    m_github->repository_changed(team);
  json params = envelope;
  params.erase("sig");
  notify_team(team, resync ? protocol::method::team_resync : protocol::method::team_changed,
              params);
  // A merge the webhook relay saw: this team's projects check that artifact's pull request
  // (through the cache, which the relay's push made stale) and complete it once.
  if (envelope.value("kind", "") == "pull_request" && envelope.value("merged", false))
    for (const auto& [root, t] : m_teams)
      if (t && *t == team && !envelope.value("id", "").empty())
        sync_project(root, {{"ids", {envelope["id"]}}});
}

json Daemon::team_status() const {
  json out = m_link ? m_link->status() : json{{"state", "disabled"}};
  if (m_relay)
    out.update(m_relay->status());
  out["state"] = team_state();
  if (m_claims)
    out["claims_held"] = m_claims->held();
  if (m_presence)
    out["member"] = m_presence->member_id();
  return out;
}

std::string Daemon::team_state() const {
  if (!m_link)
    return "disabled";
  if (m_link->state() == realtime::LinkState::live && m_relay && m_relay->catching_up())
    return "catching_up";
  return std::string(realtime::to_string(m_link->state()));
}

bool Daemon::team_request(const std::shared_ptr<Session>& session, const protocol::Request& request,
                          bool answer) {
  auto finish = [session, id = request.id, answer](util::Result<json> r) {
    settle(session, id, answer, std::move(r));
  };
  auto params = request.params.is_object() ? request.params : json::object();
  auto directory = params.value("directory", "");
  if (directory.empty()) {
    finish(util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("{} needs the project's directory", request.method)));
    return false;
  }
  auto root = WarmProjects::root_of(directory);
  auto method = request.method;
  find_team(root, [this, finish, params, root, method](const std::string& team) {
    namespace m = protocol::method;
    if (team.empty())
      return finish(util::make_error(
          util::ErrorKind::failed,
          fmt::format("{} has no team: no team.id setting, and its `origin` remote names no "
                      "GitHub repository",
                      root.string()),
          {{"hint", "git remote add origin https://github.com/OWNER/NAME.git, or `kodebase "
                    "config set team.id OWNER/NAME`"}}));
    if (method == m::team_members) {
      json out{{"team", team}, {"state", team_state()}, {"members", m_presence->roster(team)}};
      if (!m_link->commands())
        return finish(out);
      m_claims->list(team, [finish, out](util::Result<json> claims) mutable {
        out["claims"] = claims ? *claims : json::array();
        finish(out);
      });
      return;
    }
    if (method == m::team_claims) {
      m_claims->list(team, [finish, team](util::Result<json> claims) {
        if (!claims)
          return finish(claims.error());
        finish(json{{"team", team}, {"claims", *claims}});
      });
      return;
    }
    auto id = params.value("id", "");
    if (id.empty())
      return finish(util::make_error(util::ErrorKind::invalid_argument,
                                     "which artifact? give its ID, e.g. A.1.2"));
    // The person asking, as writes resolve it; and the artifact must exist.
    in_lane(
        root,
        [this, params]() -> util::Result<json> {
          KB_TRY(api::artifacts_get(m_ctx, params));
          return api::presence_info(m_ctx, params);
        },
        [this, finish, params, team, id, method](util::Result<json> person) {
          if (!person)
            return finish(person.error());
          if (person->value("email", "").empty())
            return finish(util::make_error(
                util::ErrorKind::failed,
                "a claim needs to know who you are: " + person->value("unknown", "no email"),
                {{"hint", "set KODEBASE_ACTOR=\"Name (email@example.com)\", or git config "
                          "user.name and user.email"}}));
          bool force = params.value("force", false);
          if (method == m::team_release)
            return m_claims->release(team, id, *person, force,
                                     [this, finish, team](util::Result<json> r) {
                                       m_presence->refresh(team);
                                       finish(std::move(r));
                                     });
          auto ttl = std::chrono::milliseconds(
              params.value("ttl_ms", static_cast<long long>(m_options.claim_ttl.count()) * 1000));
          if (ttl.count() <= 0)
            return finish(util::make_error(util::ErrorKind::invalid_argument,
                                           "a claim's ttl must be positive, e.g. 2h"));
          m_claims->claim(team, id, *person, ttl, force,
                          [this, finish, team, id](util::Result<json> r) {
                            if (r && !r->value("taken", false))
                              return finish(claimed_by_someone_else(id, (*r)["claim"]));
                            m_presence->refresh(team);
                            finish(std::move(r));
                          });
        });
  });
  return false;
}

bool Daemon::start_claimed(const std::shared_ptr<Session>& session, protocol::Request request,
                           bool answer, Amend then) {
  auto directory = request.params.is_object() ? request.params.value("directory", "") : "";
  if (directory.empty() || m_link->state() == realtime::LinkState::disabled) {
    respond_in_lane(session, std::move(request), answer, std::move(then));
    return false;
  }
  bool force = request.params.value("force", false);
  request.params.erase("force");
  // `then` after this step's own change of the answer.
  auto and_then = [then](Amend first) -> Amend {
    return [first, then](protocol::Response r, Send send) {
      first(std::move(r), [then, send](protocol::Response changed) {
        if (then)
          then(std::move(changed), send);
        else
          send(std::move(changed));
      });
    };
  };
  auto root = WarmProjects::root_of(directory);
  find_team(root, [=, this](const std::string& team) {
    if (team.empty()) { // no team: nothing to claim
      respond_in_lane(session, request, answer, then);
      return;
    }
    if (!m_link->commands()) { // offline: the work starts, unclaimed, and the answer says so
      auto note = fmt::format("not claimed: the team relay is {}", team_state());
      respond_in_lane(session, request, answer, and_then([note](protocol::Response r, Send send) {
                        if (!r.error && r.result && r.result->is_object())
                          (*r.result)["claim"] = {{"error", note}};
                        send(std::move(r));
                      }));
      return;
    }
    in_lane(
        root, [this, params = request.params] { return api::presence_info(m_ctx, params); },
        [=, this](util::Result<json> person) {
          auto id = request.params.value("id", "");
          if (!person || id.empty() || person->value("email", "").empty()) {
            // the start itself says what is wrong
            respond_in_lane(session, request, answer, then);
            return;
          }
          if (request.params.value("dry_run", false)) {
            m_claims->holder(team, id, [=, this](util::Result<json> holder) {
              if (holder && holder->is_object() &&
                  holder->value("email", "") != person->value("email", "") && !force)
                return settle(session, request.id, answer, claimed_by_someone_else(id, *holder));
              respond_in_lane(session, request, answer, then);
            });
            return;
          }
          m_claims->claim(
              team, id, *person, m_options.claim_ttl, force, [=, this](util::Result<json> r) {
                if (r && !r->value("taken", false))
                  return settle(session, request.id, answer,
                                claimed_by_someone_else(id, (*r)["claim"]));
                json claim = r ? (*r)["claim"] : json{{"error", r.error().message}};
                bool fresh = r && !r->value("renewed", false);
                respond_in_lane(
                    session, request, answer,
                    and_then([this, team, id, claim, fresh](protocol::Response resp, Send send) {
                      if (resp.error) {
                        if (fresh) // the start failed: the claim goes back
                          m_claims->drop(team, id);
                      } else {
                        if (resp.result && resp.result->is_object())
                          (*resp.result)["claim"] = claim;
                        m_presence->refresh(team);
                      }
                      send(std::move(resp));
                    }));
              });
        });
  });
  return false;
}

bool Daemon::create_reserved(const std::shared_ptr<Session>& session, protocol::Request request,
                             bool answer) {
  auto directory = request.params.is_object() ? request.params.value("directory", "") : "";
  if (directory.empty() || m_link->state() == realtime::LinkState::disabled ||
      request.params.value("dry_run", false) || request.params.contains("id")) {
    respond_in_lane(session, std::move(request), answer);
    return false;
  }
  auto note = [](json reservation) -> Amend {
    return [reservation](protocol::Response r, Send send) {
      if (!r.error && r.result && r.result->is_object())
        (*r.result)["reservation"] = reservation;
      send(std::move(r));
    };
  };
  auto root = WarmProjects::root_of(directory);
  find_team(root, [=, this](const std::string& team) {
    if (team.empty() || !m_link->commands()) {
      auto why = team.empty() ? "the project has no team" : "the team relay is " + team_state();
      respond_in_lane(
          session, request, answer,
          note({{"reserved", false}, {"reason", why + ": the ID comes from this tree"}}));
      return;
    }
    in_lane(
        root, [this, params = request.params] { return api::next_id_info(m_ctx, params); },
        [=, this](util::Result<json> next) {
          if (!next) { // the create itself says what is wrong
            respond_in_lane(session, request, answer);
            return;
          }
          auto parent = next->value("parent", "");
          auto seen = next->value("next", std::uint64_t(1)) - 1;
          m_ids->reserve(team, parent, seen, [=, this](util::Result<std::uint64_t> n) {
            auto asked = request;
            json reservation{{"reserved", n.ok()}};
            if (!n) {
              reservation["reason"] = n.error().message + ": the ID comes from this tree";
              return respond_in_lane(session, std::move(asked), answer, note(reservation));
            }
            auto id = parent.empty() ? artifact::ArtifactId::initiative(*n).str()
                                     : parent + "." + std::to_string(*n);
            asked.params["id"] = id;
            auto noted = note(reservation);
            respond_in_lane(session, std::move(asked), answer,
                            [=, this](protocol::Response r, Send send) {
                              if (!r.error) // taken for good: the team hears of it
                                announce_reservation(team, parent, id, request.params);
                              noted(std::move(r), std::move(send));
                            });
          });
        });
  });
  return false;
}

void Daemon::announce_reservation(const std::string& team, const std::string& parent,
                                  const std::string& id, const json& add) {
  if (!m_relay)
    return;
  auto text = [&](const char* key) { // what the add was asked with; the create checked it
    auto it = add.find(key);
    return it != add.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  json change{{"kind", "reservation"}, {"id", id},
              {"parent", parent},      {"title", text("title")},
              {"cause", "add"},        {"time", util::format_utc(util::now_seconds())}};
  if (auto actor = text("actor"); !actor.empty())
    change["actor"] = actor;
  else if (auto me = m_presence->self(team); !me.value("email", "").empty())
    change["actor"] = fmt::format("{} ({})", me.value("name", ""), me.value("email", ""));
  m_relay->publish(team, std::move(change));
}

bool Daemon::team_connect(const std::shared_ptr<Session>& session, const protocol::Request& request,
                          bool answer) {
  auto finish = [this, session, id = request.id, answer](util::Result<json> result) {
    if (answer)
      session->send(
          protocol::serialize(result ? protocol::Response{id, std::move(*result), std::nullopt}
                                     : protocol::error_response(id, result.error())));
    session->resume();
  };
  bool connect = request.method == protocol::method::team_connect;
  auto options = m_options.realtime;
  options.url = connect ? request.params.value("url", "") : "";
  options.ca_file = request.params.value("ca_file", "");
  auto secret_file = request.params.value("secret_file", "");
  std::string secret;
  if (!secret_file.empty()) {
    secret = realtime::read_secret(secret_file);
    if (secret.size() < 16) {
      finish(
          util::make_error(util::ErrorKind::invalid_argument,
                           fmt::format("{} holds no team secret of at least 16 bytes", secret_file),
                           {{"hint", "create one with `openssl rand -hex 32 > FILE` and share "
                                     "it with your team"}}));
      return false;
    }
  }
  if (connect) {
    auto url = realtime::parse_redis_url(options.url);
    if (!url) {
      finish(url.error());
      return false;
    }
    if (!options.ca_file.empty() && !fs::is_regular_file(options.ca_file)) {
      finish(util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("no CA file at {}", options.ca_file),
                              {{"hint", "name a PEM file of trusted certificates"}}));
      return false;
    }
  }
  // The settings, in the user's file; it may hold a password from now on, so it is 0600.
  for (auto [key, value] : {std::pair<const char*, std::string>{"realtime.redis_url", options.url},
                            {"realtime.ca_file", options.ca_file},
                            {"realtime.team_secret_file", secret_file}}) {
    auto written = api::config_set(m_ctx, {{"key", key}, {"value", value}});
    if (!written) {
      finish(written.error());
      return false;
    }
  }
  std::error_code ec;
  fs::permissions(api::user_config_file(), fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace, ec);
  m_presence->leave(); // from the Redis being left (its connections are about to close)
  m_relay->set_secret(secret.empty() ? m_options.realtime_secret : secret);
  m_link->configure(options);
  // Answered when the first attempt has an outcome (bounded by the connect timeout).
  auto deadline = Clock::now() + options.timeout + std::chrono::seconds(1);
  auto wait = std::make_shared<std::function<void()>>();
  *wait = [this, finish, deadline, wait] {
    if (m_link->state() != realtime::LinkState::connecting || Clock::now() >= deadline) {
      finish(team_status());
      *wait = nullptr; // ends the cycle of the shared function holding itself
      return;
    }
    m_team_wait.expires_after(std::chrono::milliseconds(20));
    m_team_wait.async_wait([wait](boost::system::error_code) {
      if (*wait)
        (*wait)();
    });
  };
  (*wait)();
  return false;
}

} // namespace kb::daemon::server
