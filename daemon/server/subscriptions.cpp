// Subscribers: their topics, and the changes and team updates sent to them.
#include "daemon/server/daemon.hpp"

namespace kb::daemon::server {

void Daemon::send_to_followers(const std::string& root, const std::string& line) {
  for (Session* s : m_sessions)
    if (s->topics.contains("artifacts") && (s->project.empty() || s->project == root))
      s->send(line, true);
}

std::optional<std::set<std::string>> Daemon::topics_of(const protocol::Request& request,
                                                       protocol::Response& response) {
  auto topics = request.params.value("topics", json::array({"artifacts"}));
  if (!topics.is_array()) {
    response = protocol::error_response(request.id, protocol::k_invalid_params,
                                        "topics must be a list, e.g. [\"artifacts\"]");
    return std::nullopt;
  }
  std::set<std::string> out;
  for (const auto& t : topics)
    if (t.is_string())
      out.insert(t.get<std::string>());
  return out;
}

void Daemon::apply_topics(Session& session, const protocol::Request& request,
                          const std::set<std::string>& topics, protocol::Response& response) {
  for (const auto& t : topics) {
    if (request.method == protocol::method::subscribe)
      session.topics.insert(t);
    else
      session.topics.erase(t);
  }
  response.result =
      json{{"topics", session.topics},
           {"project", session.project.empty() ? json(nullptr) : json(session.project)}};
  watch_changes();
}

void Daemon::broadcast() {
  auto notices = m_projects.take_notices();
  std::set<std::string> moved; // teams whose presence changes: told once, after the loop
  for (const auto& n : notices) {
    if (n.method == protocol::method::artifact_changed && m_relay &&
        m_link->state() != realtime::LinkState::disabled)
      if (auto team = team_of(n.params.value("project", "")); !team.empty()) {
        json change = n.params;
        change.erase("project");
        change.erase("path");
        if (auto me = m_presence->self(team); !me.value("email", "").empty())
          change["actor"] = fmt::format("{} ({})", me.value("name", ""), me.value("email", ""));
        m_relay->publish(team, std::move(change));
        // Finished work gives its claim back; a change of what is in progress shows in the
        // team's presence at once.
        auto state = n.params.value("new_state", json(nullptr));
        auto id = n.params.value("id", "");
        if (state == "completed" || state == "cancelled")
          m_claims->drop(team, id);
        if (state != n.params.value("old_state", json(nullptr)))
          moved.insert(team);
      }
    send_to_followers(n.params.value("project", ""),
                      protocol::serialize(protocol::Notification{n.method, n.params}));
  }
  for (const auto& team : moved) // a merge that moves many artifacts is one new heartbeat
    m_presence->refresh(team);
}

void Daemon::watch_changes() {
  if (m_watching || m_stopping)
    return;
  // Changes are looked for while anyone subscribes, and while the team relay shares them.
  bool any = m_relay && m_relay->following() && m_link->state() != realtime::LinkState::disabled;
  for (const Session* s : m_sessions)
    any |= !s->topics.empty();
  if (!any)
    return;
  m_watching = true;
  m_watch.expires_after(m_options.watch_interval);
  m_watch.async_wait([this](boost::system::error_code ec) {
    m_watching = false;
    if (ec || m_stopping)
      return;
    auto now = Clock::now();
    for (auto& [root, lane] : m_lanes) {
      if (root.empty() || std::exchange(lane.polling, true))
        continue; // the last poll has not come back: the project is busy
      in_lane(
          root,
          [this, root = root, now] {
            m_projects.poll(root, now);
            return true;
          },
          [this, root = root](bool) {
            if (auto it = m_lanes.find(root); it != m_lanes.end())
              it->second.polling = false;
            broadcast();
          });
    }
    broadcast();
    watch_changes();
  });
}

} // namespace kb::daemon::server
