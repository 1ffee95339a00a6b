// The daemon's life: the socket it listens on, its ticks, its status, and its shutdown.
#include "daemon/server/daemon.hpp"

namespace kb::daemon::server {

namespace {

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

} // namespace

util::Status Daemon::listen() {
  boost::system::error_code ec;
  if (m_options.listen_fd >= 0) {
    m_acceptor.assign(local(), m_options.listen_fd, ec);
    if (ec)
      return util::make_error(util::ErrorKind::unavailable,
                              "cannot use the inherited socket: " + ec.message());
    return util::ok_status();
  }
  return m_socket_file.listen(m_acceptor, m_options.paths.socket);
}

void Daemon::remove_socket() {
  m_socket_file.remove();
}

void Daemon::accept() {
  m_acceptor.async_accept([this](boost::system::error_code ec, local::socket socket) {
    if (ec) {
      if (!m_stopping && ec != asio::error::operation_aborted && m_acceptor.is_open()) {
        // Out of descriptors or memory: try again a little later, not in a tight loop.
        m_log.info("accept failed: {}; trying again in 100 ms", ec.message());
        m_accept_retry.expires_after(std::chrono::milliseconds(100));
        m_accept_retry.async_wait([this](boost::system::error_code e) {
          if (!e && !m_stopping)
            accept();
        });
      }
      return;
    }
    m_last_activity = Clock::now();
    if (!net::peer_is_us(socket.native_handle())) {
      m_log.info("refused a connection from another user");
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(*this, std::move(socket), m_options.max_frame)->start();
    }
    accept();
  });
}

void Daemon::on_tick() {
  m_tick.expires_after(std::chrono::seconds(1));
  m_tick.async_wait([this](boost::system::error_code ec) {
    if (ec || m_stopping)
      return;
    for (auto& [root, lane] : m_lanes)
      in_lane(
          root, [this, root = root] { return m_projects.expire(root, Clock::now()); },
          [this, root = root](bool gone) {
            // A lane with nothing queued and no project is forgotten; one with work keeps
            // its strand, so work about one project never runs on two.
            if (auto it = m_lanes.find(root);
                gone && it != m_lanes.end() && it->second.pending == 0)
              m_lanes.erase(it);
          });
    auto idle = m_options.idle_timeout;
    if (idle.count() > 0 && !m_options.no_socket && !m_webhooks && m_sessions.empty() &&
        Clock::now() - m_last_activity >= idle) {
      shutdown(fmt::format("idle for {} s", idle.count()));
      return;
    }
    on_tick();
  });
}

void Daemon::shutdown(const std::string& why) {
  if (m_stopping)
    return;
  m_stopping = true;
  m_log.info("shutting down: {}", why);
  boost::system::error_code ignored;
  m_acceptor.close(ignored);
  if (m_github_door)
    m_github_door->close();
  m_tick.cancel();
  m_watch.cancel();
  remove_socket();
  if (m_presence) // teammates see this member leave now, not when its entry expires
    m_presence->leave();
  auto note = protocol::serialize(
      protocol::Notification{std::string(protocol::method::shutting_down), json{{"reason", why}}});
  std::vector<Session*> sessions(m_sessions.begin(), m_sessions.end());
  for (Session* s : sessions) {
    if (!s->topics.empty())
      s->send(note, true);
    s->close_when_done();
  }
  if (m_sessions.empty()) {
    m_io.stop();
    return;
  }
  // Requests being served and pending replies get a bounded time to reach their clients.
  m_tick.expires_after(std::chrono::seconds(5));
  m_tick.async_wait([this](boost::system::error_code) { m_io.stop(); });
}

bool Daemon::drain_workers() {
  for (int i = 0; i < 500 && m_running > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return m_running == 0;
}

json Daemon::hello(const json&) const {
  return {{"protocol", protocol::k_protocol_version},
          {"version", protocol::version()},
          {"build_id", protocol::build_id()},
          {"pid", ::getpid()},
          {"capabilities", {"subscribe"}}};
}

json Daemon::status() const {
  json projects = json::array();
  auto now = Clock::now();
  size_t subscribers = 0;
  for (const Session* s : m_sessions)
    subscribers += s->topics.empty() ? 0 : 1;
  for (const auto& p : m_projects.info())
    projects.push_back(
        {{"root", p.root.string()},
         {"artifacts", p.artifacts},
         {"watch", p.watch},
         {"watches", p.watches},
         {"loads", p.loads},
         {"updates", p.updates},
         {"idle_seconds",
          std::chrono::duration_cast<std::chrono::seconds>(now - p.last_used).count()}});
  return {
      {"pid", ::getpid()},
      {"version", protocol::version()},
      {"build_id", protocol::build_id()},
      {"protocol", protocol::k_protocol_version},
      {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(now - m_started).count()},
      {"socket", m_options.paths.socket.string()},
      {"log", m_log.file().empty() ? json("stderr") : json(m_log.file().string())},
      {"rss_bytes", rss_bytes()},
      {"idle_timeout_seconds", m_options.idle_timeout.count()},
      {"clients", m_sessions.size()},
      {"subscribers", subscribers},
      {"requests", m_requests},
      {"requests_in_progress", m_running.load()},
      {"realtime", team_status()},
      {"webhooks", m_webhooks ? m_webhooks->status() : json(nullptr)},
      {"projects", projects}};
}

void Daemon::wait_signal() {
  m_signals.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec)
      return;
    if (sig == SIGHUP) {
      m_log.reopen();
      m_log.info("log reopened");
      wait_signal();
      return;
    }
    shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
}

void Daemon::tell_starter(const std::string& line) {
  if (m_options.ready_fd < 0)
    return;
  auto text = line + "\n";
  (void)!::write(m_options.ready_fd, text.data(), text.size());
  ::close(m_options.ready_fd);
}

util::Status Daemon::open_doors() {
  if (m_options.no_socket) {
    m_log.info("kodebased {} (build {}) serving no socket (hosted relay)", protocol::version(),
               protocol::build_id());
  } else {
    KB_TRY(listen());
    m_log.info("kodebased {} (build {}) serving {}", protocol::version(), protocol::build_id(),
               m_options.paths.socket.string());
  }
  start_github();
  if (m_options.webhook.listen.empty())
    return util::ok_status();
  m_webhooks = std::make_unique<WebhookDoor>(
      m_io, *m_github, m_options.webhook,
      [this](const std::string& team, json envelope) {
        m_relay->follow(team);
        m_relay->publish(team, std::move(envelope));
      },
      [this](const std::string& s) { m_log.info("{}", s); });
  KB_TRY(m_webhooks->listen());
  m_log.info("GitHub webhooks on {} (port {})", m_options.webhook.listen, m_webhooks->port());
  return util::ok_status();
}

void Daemon::start_team_relay() {
  auto logger = [this](const std::string& s) { m_log.info("{}", s); };
  m_link = std::make_unique<realtime::Link>(m_io, logger);
  m_relay = std::make_unique<realtime::Relay>(
      *m_link,
      realtime::RelayOptions{protocol::state_dir() / "realtime",
                             m_options.realtime_secret.empty()
                                 ? realtime::read_secret(m_options.realtime_secret_file)
                                 : m_options.realtime_secret,
                             m_options.history, m_options.history_ttl},
      [this](const std::string& team, const json& envelope) { team_update(team, envelope); },
      logger);
  m_presence = std::make_unique<realtime::Presence>(
      *m_link, m_relay->instance(), m_options.presence_interval,
      [this](const std::string& team, std::function<void(json)> done) {
        describe(team, std::move(done));
      },
      [this](const std::string& team, const json& event) {
        notify_team(team, protocol::method::team_presence, event);
      },
      logger);
  m_claims = std::make_unique<realtime::Claims>(
      *m_link, protocol::state_dir() / "realtime", m_relay->instance(),
      [this](const std::string& team, const json& claim) {
        notify_team(team, protocol::method::team_claim_lost, claim);
      },
      logger);
  m_ids = std::make_unique<realtime::IdReservations>(*m_link, m_options.id_reservation_ttl);
  auto announce_state = [this] {
    auto state = team_state();
    if (state == m_last_state)
      return;
    m_last_state = state;
    json params = m_link->status();
    params["state"] = state;
    notify_team("", protocol::method::team_state, params);
  };
  m_link->on_state(announce_state);
  m_relay->on_catch_up(announce_state);
  m_link->on_live([this] {
    m_relay->on_live();
    m_presence->on_live();
    m_claims->on_live();
  });
  m_link->on_push([this](const realtime::Reply& push) {
    if (!m_presence->on_push(push))
      m_relay->on_push(push);
  });
  m_link->configure(m_options.realtime);
}

int Daemon::stop_services() {
  m_finished = true;
  remove_socket();
  m_webhooks.reset();
  m_github_door.reset();
  m_pulls.reset();
  m_github.reset();
  m_claims.reset();
  m_presence.reset();
  m_relay.reset();
  m_link.reset();
  if (!drain_workers()) {
    // A request stuck in the file system (a hung mount): what it holds cannot be saved, and
    // waiting for it would keep the daemon forever.
    m_log.info("stopped with {} request(s) still running", m_running.load());
    std::_Exit(0);
  }
  m_workers.join();
  m_projects.save_snapshots();
  m_log.info("stopped");
  return 0;
}

// The daemon's life in steps: signals, its doors (the socket, GitHub, webhooks), the word to
// whoever started it, the team relay, then serving until shutdown, and stopping in order.
int Daemon::run() {
  m_signals.add(SIGTERM);
  m_signals.add(SIGINT);
  m_signals.add(SIGHUP);
  wait_signal();
  if (auto st = open_doors(); !st) {
    m_log.info("{}", st.error().message);
    tell_starter(st.error().message);
    return 3;
  }
  tell_starter("OK");
  start_team_relay();
  if (!m_options.no_socket)
    accept();
  on_tick();
  // A handler that throws is a bug; it is logged and the daemon serves on (Asio lets run()
  // resume after an exception) rather than taking every client's session down with it.
  for (;;) {
    try {
      m_io.run();
      break;
    } catch (const std::exception& e) {
      m_log.info("internal error, serving on: {}", e.what());
    }
  }
  return stop_services();
}

int run_daemon(const ServerOptions& options, Log& log) {
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(options, log);
  return daemon.run();
}

} // namespace kb::daemon::server
