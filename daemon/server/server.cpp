#include "daemon/server/server.hpp"

#include "core/api/methods.hpp"
#include "core/api/settings.hpp"
#include "core/protocol/build_info.hpp"
#include "core/protocol/framing.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/methods.hpp"
#include "core/repo/git.hpp"
#include "core/util/time.hpp"
#include "daemon/github/http_door.hpp"
#include "daemon/github/proxy.hpp"
#include "daemon/github/rpc.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/net/peer.hpp"
#include "daemon/net/private_socket.hpp"
#include "daemon/realtime/claims.hpp"
#include "daemon/realtime/ids.hpp"
#include "daemon/realtime/presence.hpp"
#include "daemon/realtime/relay.hpp"
#include "daemon/server/pull_requests.hpp"
#include "daemon/server/warm_projects.hpp"

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <malloc.h>
#include <map>
#include <optional>
#include <set>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace kb::daemon::server {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

class Daemon;

// One client connection: newline-framed requests in, replies and notifications out, in order.
// Its requests are answered one at a time: the next frame is taken only once the previous one
// has its reply, so a client that floods the daemon is read no faster than it is served.
class Session : public std::enable_shared_from_this<Session> {
public:
  Session(Daemon& daemon, local::socket socket, size_t max_frame);
  ~Session();

  void start() { pump(); }
  // Queues one message line; notifications beyond the subscriber limit replace the backlog
  // with a single `resync`, so a client that stops reading cannot grow the daemon.
  void send(std::string line, bool notification = false);
  // The request being served has its reply: go on with the next one.
  void resume() {
    m_busy = false;
    if (std::exchange(m_large_frame, false))
      ::malloc_trim(0);
    pump();
  }
  void close();
  // Closes once the request being served is answered and the queued messages are written.
  void close_when_done() {
    if (!m_busy && !m_writing && m_out.empty())
      close();
  }

  std::set<std::string> topics; // subscribed topics; empty = not a subscriber
  std::string project;          // the project root it follows; empty = all projects
  std::string agent;            // the AI agent it serves (the MCP adapter says), if any

private:
  // Serves the frames already read, then reads more.
  void pump();
  void read();
  void flush();

  Daemon& m_daemon;
  local::socket m_socket;
  protocol::LineFramer m_framer;
  std::array<char, 64 * 1024> m_buf{};
  std::deque<std::string> m_out;
  size_t m_out_bytes = 0; // in m_out
  size_t m_queued_notifications = 0;
  bool m_busy = false;        // a request is being served
  bool m_held = false;        // not read from until its replies drain
  bool m_large_frame = false; // the request being served came in a frame over 1 MiB
  bool m_reading = false;
  bool m_writing = false;
  bool m_closed = false;
};

class Daemon {
public:
  Daemon(const ServerOptions& options, Log& log)
      : m_options(options), m_log(log),
        m_projects(options.poll ? WarmProjects::Watch::poll : WarmProjects::Watch::inotify),
        m_ctx{m_projects, "daemon"}, m_acceptor(m_io), m_signals(m_io), m_tick(m_io), m_watch(m_io),
        m_workers(std::max(4u, std::thread::hardware_concurrency())) {}

  int run();
  // Serves one request frame. True when it is answered already; otherwise the session is
  // resumed once its reply is sent.
  bool handle(const std::shared_ptr<Session>& session, const std::string& frame);
  void attach(Session* s) { m_sessions.insert(s); }
  void detach(Session* s) {
    m_sessions.erase(s);
    m_last_activity = Clock::now();
    if (m_stopping && m_sessions.empty() && !m_finished)
      m_io.stop();
  }
  bool stopping() const { return m_stopping; }
  const ServerOptions& options() const { return m_options; }
  Log& log() { return m_log; }

private:
  util::Status listen();
  void accept();
  void on_tick();
  void shutdown(const std::string& why);
  // Runs `work` on the strand of the project at `root` (a worker thread), then `done` with its
  // result on the daemon's thread. Work about one project runs one piece at a time, in order;
  // different projects are served at the same time, so loading a large project delays only
  // its own clients.
  template <class Work, class Done> void in_lane(const fs::path& root, Work work, Done done);
  // The daemon's own methods, answered at once; false when `request` is not one of them.
  bool respond_here(Session& session, const protocol::Request& request,
                    protocol::Response& response);
  // Everything else: the core API, on the project's strand.
  // `amend`, when given, sees the response before it is sent, and hands it on (perhaps
  // changed, perhaps later) to be sent.
  using Send = std::function<void(protocol::Response)>;
  using Amend = std::function<void(protocol::Response, Send)>;
  void respond_in_lane(const std::shared_ptr<Session>& session, protocol::Request request,
                       bool answer, Amend amend = {});
  // github.request and github.batch, through the proxy; answered later (false), with the
  // session resumed then.
  bool github_request(const std::shared_ptr<Session>& session, const protocol::Request& request,
                      bool answer);
  // The GitHub proxy and github.sock; a failure is logged, the rest of the daemon serves on.
  void start_github();
  // team.connect / team.disconnect: the setting written, the link restarted, and the answer
  // (its status) once it is live or has failed.
  bool team_connect(const std::shared_ptr<Session>& session, const protocol::Request& request,
                    bool answer);
  // The team of a project (its origin's owner/name), found on its strand, then followed;
  // `then` gets it ("" when the project has none) once known.
  void find_team(const fs::path& root, std::function<void(const std::string&)> then = {});
  // A teammate's change (or a resync) to the subscribers of that team's projects.
  void team_update(const std::string& team, const json& envelope);
  // A notification to the subscribers of every project of `team` ("" = of every project).
  void notify_team(const std::string& team, std::string_view method, const json& params);
  json team_status() const;
  // The team of a project whose team is known; "" when it has none or is still looked up.
  std::string team_of(const fs::path& root) const;
  // Sends a notification line to the sessions subscribed to `root` (or to every project).
  void send_to_followers(const std::string& root, const std::string& line);
  // The link's state as users see it: catching_up while a team reads what it missed.
  std::string team_state() const;
  // team.members, team.claim, team.release, team.claims: answered once Redis has.
  bool team_request(const std::shared_ptr<Session>& session, const protocol::Request& request,
                    bool answer);
  // artifacts.start in a project whose team is connected: the issue is claimed first, and a
  // claim held by someone else refuses the start (unless params.force).
  bool start_claimed(const std::shared_ptr<Session>& session, protocol::Request request,
                     bool answer, Amend then = {});
  // artifacts.create in a project whose team is connected: the ID is reserved through the
  // team's Redis first, so teammates adding under one parent at once never collide; offline
  // (or without a team) it comes from the local tree, and the answer says so.
  bool create_reserved(const std::shared_ptr<Session>& session, protocol::Request request,
                       bool answer);
  // Tells the team that `id` under `parent` is taken by the add asked with `add`.
  void announce_reservation(const std::string& team, const std::string& parent,
                            const std::string& id, const json& add);
  // artifacts.start and artifacts.submit with github.pull_requests on: the branch pushed and
  // its pull request opened after a start; submit through PullRequests::submit.
  bool with_pull_request(const std::shared_ptr<Session>& session, protocol::Request request,
                         bool answer);
  // github.sync and github.pr.
  bool pull_request_request(const std::shared_ptr<Session>& session,
                            const protocol::Request& request, bool answer);
  // Every warm project with in-review artifacts asks GitHub for merges (background calls).
  void sync_in_background();
  void sync_project(const fs::path& root, json params);
  // An AI agent named by a request (the MCP adapter names it) is at work in that project.
  void note_agent(const json& params);
  // What this daemon says in `team`'s presence (on the strand of one of its projects).
  void describe(const std::string& team, std::function<void(json)> done);
  // `topics` of a subscribe/unsubscribe, or an error reply.
  std::optional<std::set<std::string>> topics_of(const protocol::Request& request,
                                                 protocol::Response& response);
  void apply_topics(Session& session, const protocol::Request& request,
                    const std::set<std::string>& topics, protocol::Response& response);
  // Sends what changed to the subscribers that follow it.
  void broadcast();
  // While anyone subscribes, settled changes are looked for every 50 ms.
  void watch_changes();
  // Waits (bounded) for the work running on the workers; false when some is still running.
  bool drain_workers();
  json status() const;
  json hello(const json& params) const;
  void remove_socket();

  // A project's strand; the lanes map lives on the daemon's thread only.
  using Strand = asio::strand<asio::thread_pool::executor_type>;
  struct Lane {
    Strand strand;
    int pending = 0;      // pieces of work posted and not yet done
    bool polling = false; // a poll is among them
  };

  const ServerOptions& m_options;
  Log& m_log;
  // Declared before the I/O objects, so that handlers destroyed with the io_context (sessions
  // they hold) still find them.
  WarmProjects m_projects;
  api::Context m_ctx;
  std::set<Session*> m_sessions;
  Clock::time_point m_started = Clock::now();
  Clock::time_point m_last_activity = Clock::now();
  bool m_stopping = false;
  bool m_finished = false; // the io_context has stopped for good
  bool m_watching = false;
  net::PrivateSocket m_socket_file; // daemon.sock, unless inherited
  long long m_requests = 0;
  std::atomic<int> m_running{0}; // pieces of work running on a worker

  asio::io_context m_io;
  local::acceptor m_acceptor;
  asio::signal_set m_signals;
  asio::steady_timer m_tick;
  asio::steady_timer m_watch;
  asio::thread_pool m_workers;
  std::map<fs::path, Lane> m_lanes;
  // Destroyed by run() before the io_context, whose objects they hold.
  std::unique_ptr<github::Proxy> m_github;
  std::unique_ptr<github::HttpDoor> m_github_door;
  std::unique_ptr<PullRequests> m_pulls;
  std::map<fs::path, std::string> m_tokens; // the last token a client brought, per project
  std::set<fs::path> m_syncing;             // projects being checked for merges
  std::unique_ptr<realtime::Link> m_link;
  std::unique_ptr<realtime::Relay> m_relay;
  std::unique_ptr<realtime::Presence> m_presence;
  std::unique_ptr<realtime::Claims> m_claims;
  std::unique_ptr<realtime::IdReservations> m_ids;
  std::unique_ptr<WebhookDoor> m_webhooks;
  // project root → its team ("" none; nullopt while it is looked up), and who waits for it
  std::map<fs::path, std::optional<std::string>> m_teams;
  std::map<fs::path, std::vector<std::function<void(const std::string&)>>> m_team_waiters;
  std::map<fs::path, std::map<std::string, Clock::time_point>> m_agents; // agents seen at work
  std::string m_last_state; // the state last announced to subscribers
  asio::steady_timer m_team_wait{m_io};
  asio::steady_timer m_sync{m_io};
  asio::steady_timer m_accept_retry{m_io};
};

Session::Session(Daemon& daemon, local::socket socket, size_t max_frame)
    : m_daemon(daemon), m_socket(std::move(socket)), m_framer(max_frame) {
  m_daemon.attach(this);
}

Session::~Session() {
  m_daemon.detach(this);
}

void Session::pump() {
  while (!m_busy && !m_closed) {
    // A client that sends requests without reading the replies is not read from until they
    // drain: what waits for it stays bounded.
    if (m_out_bytes > m_daemon.options().max_pending_replies) {
      m_held = true;
      return;
    }
    if (m_daemon.stopping()) {
      close_when_done(); // in-flight requests finish; new ones are not started
      return;
    }
    std::string frame;
    auto status = m_framer.next(frame);
    if (status == protocol::LineFramer::Status::need_more) {
      read();
      return;
    }
    if (status == protocol::LineFramer::Status::oversized) {
      send(protocol::serialize(protocol::error_response(
          nullptr, protocol::k_invalid_request,
          fmt::format("request frame exceeds the {} byte limit", m_daemon.options().max_frame))));
      continue;
    }
    if (frame.size() > (1u << 20))
      m_large_frame = true; // its memory goes back to the system once it is answered
    if (frame.find_first_not_of(" \t\r") != std::string::npos)
      m_busy = !m_daemon.handle(shared_from_this(), frame);
    if (!m_busy && std::exchange(m_large_frame, false)) {
      std::string().swap(frame);
      ::malloc_trim(0);
    }
  }
}

void Session::read() {
  if (m_reading)
    return;
  m_reading = true;
  m_socket.async_read_some(asio::buffer(m_buf),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             self->m_reading = false;
                             if (ec) {
                               self->close();
                               return;
                             }
                             self->m_framer.feed(std::string_view(self->m_buf.data(), n));
                             self->pump();
                           });
}

void Session::send(std::string line, bool notification) {
  if (m_closed)
    return;
  if (notification) {
    if (m_queued_notifications >= m_daemon.options().subscriber_queue) {
      // Keep the message being written (it may be half sent); drop the rest of the backlog.
      while (m_out.size() > (m_writing ? 1u : 0u)) {
        m_out_bytes -= m_out.back().size();
        m_out.pop_back();
      }
      m_queued_notifications = 0;
      line = protocol::serialize(
          protocol::Notification{std::string(protocol::method::resync), json::object()});
    }
    ++m_queued_notifications;
  }
  line += '\n';
  m_out_bytes += line.size();
  m_out.push_back(std::move(line));
  flush();
}

void Session::flush() {
  if (m_writing || m_out.empty())
    return;
  m_writing = true;
  asio::async_write(m_socket, asio::buffer(m_out.front()),
                    [self = shared_from_this()](boost::system::error_code ec, size_t) {
                      self->m_writing = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->m_out_bytes -= self->m_out.front().size();
                      self->m_out.pop_front();
                      if (self->m_queued_notifications > 0)
                        --self->m_queued_notifications;
                      if (self->m_held &&
                          self->m_out_bytes <= self->m_daemon.options().max_pending_replies / 2) {
                        self->m_held = false;
                        asio::post(self->m_socket.get_executor(), [self] { self->pump(); });
                      }
                      if (self->m_out.empty() && self->m_daemon.stopping())
                        self->close_when_done();
                      else
                        self->flush();
                    });
}

void Session::close() {
  if (m_closed)
    return;
  m_closed = true;
  boost::system::error_code ignored;
  m_socket.shutdown(local::socket::shutdown_both, ignored);
  m_socket.close(ignored);
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

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

template <class Work, class Done> void Daemon::in_lane(const fs::path& root, Work work, Done done) {
  auto& lane = m_lanes.try_emplace(root, Lane{asio::make_strand(m_workers)}).first->second;
  ++lane.pending;
  asio::post(lane.strand, [this, root, work = std::move(work), done = std::move(done)]() mutable {
    ++m_running;
    auto result = work();
    --m_running;
    asio::post(m_io, [this, root, result = std::move(result), done = std::move(done)]() mutable {
      if (auto it = m_lanes.find(root); it != m_lanes.end())
        --it->second.pending;
      done(std::move(result));
    });
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
  if (request.method == protocol::method::github_request ||
      request.method == protocol::method::github_batch)
    return github_request(session, request, answer);
  if (request.method == protocol::method::team_connect ||
      request.method == protocol::method::team_disconnect)
    return team_connect(session, request, answer);
  if (request.method == protocol::method::team_members ||
      request.method == protocol::method::team_claim ||
      request.method == protocol::method::team_release ||
      request.method == protocol::method::team_claims)
    return team_request(session, request, answer);
  if (request.method == protocol::method::artifacts_create)
    return create_reserved(session, std::move(request), answer);
  if (request.method == protocol::method::artifacts_start ||
      request.method == protocol::method::artifacts_submit)
    return with_pull_request(session, std::move(request), answer);
  if (request.method == protocol::method::github_sync ||
      request.method == protocol::method::github_pr)
    return pull_request_request(session, request, answer);
  protocol::Response response{request.id, json::object(), std::nullopt};
  bool here = false;
  try {
    here = respond_here(*session, request, response);
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

bool Daemon::respond_here(Session& session, const protocol::Request& request,
                          protocol::Response& response) {
  namespace m = protocol::method;
  if (request.method == m::hello) {
    response.result = hello(request.params);
  } else if (request.method == m::daemon_status) {
    response.result = status();
  } else if (request.method == m::daemon_shutdown) {
    response.result = json{{"stopping", true}, {"pid", ::getpid()}};
    asio::post(m_io, [this] { shutdown("asked by a client"); });
  } else if (request.method == m::github_status) {
    json result = m_github ? m_github->status() : json{{"error", "the GitHub proxy is off"}};
    result["socket"] = m_options.paths.github.string();
    auto port = m_github_door ? m_github_door->loopback_port() : 0;
    result["loopback"] = port ? json("http://127.0.0.1:" + std::to_string(port)) : json(nullptr);
    response.result = std::move(result);
  } else if (request.method == m::team_status) {
    response.result = team_status();
  } else if (request.method == m::cache_stats) {
    response.result = m_github ? m_github->cache_stats() : json::object();
  } else if (request.method == m::cache_clear) {
    auto repo = request.params.value("repo", "");
    if (!repo.empty() && std::count(repo.begin(), repo.end(), '/') != 1) {
      response = protocol::error_response(request.id, protocol::k_invalid_params,
                                          "repo must be OWNER/NAME, not `" + repo + "`");
      return true;
    }
    size_t removed = m_github ? m_github->clear(repo.empty() ? "" : "/repos/" + repo) : 0;
    response.result = json{{"removed", removed}};
  } else if (request.method == m::cache_prune) {
    response.result = json{{"removed", m_github ? m_github->prune() : 0}};
  } else if (request.method == m::subscribe || request.method == m::unsubscribe) {
    auto topics = topics_of(request, response);
    // Following one project: it is loaded (on its strand) first, so that its changes are
    // watched from this moment; changes found while loading follow the reply.
    if (topics && request.method == m::subscribe && request.params.contains("directory"))
      return false;
    if (topics)
      apply_topics(session, request, *topics, response);
  } else {
    return false;
  }
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

std::string Daemon::team_of(const fs::path& root) const {
  auto it = m_teams.find(root);
  return it != m_teams.end() && it->second ? *it->second : std::string();
}

void Daemon::send_to_followers(const std::string& root, const std::string& line) {
  for (Session* s : m_sessions)
    if (s->topics.contains("artifacts") && (s->project.empty() || s->project == root))
      s->send(line, true);
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

namespace {

// Sends the answer to a request served later (unless it was a notification) and lets its
// session go on.
void settle(const std::shared_ptr<Session>& session, const json& id, bool answer,
            util::Result<json> result) {
  if (answer)
    session->send(protocol::serialize(result
                                          ? protocol::Response{id, std::move(*result), std::nullopt}
                                          : protocol::error_response(id, result.error())));
  session->resume();
}

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
  m_watch.expires_after(std::chrono::milliseconds(50));
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

int Daemon::run() {
  m_signals.add(SIGTERM);
  m_signals.add(SIGINT);
  m_signals.add(SIGHUP);
  std::function<void()> wait_signal = [&] {
    m_signals.async_wait([&](boost::system::error_code ec, int sig) {
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
  };
  wait_signal();
  auto refuse = [this](const std::string& why) {
    m_log.info("{}", why);
    if (m_options.ready_fd >= 0) {
      auto line = why + "\n";
      (void)!::write(m_options.ready_fd, line.data(), line.size());
      ::close(m_options.ready_fd);
    }
    return 3;
  };
  if (m_options.no_socket) {
    m_log.info("kodebased {} (build {}) serving no socket (hosted relay)", protocol::version(),
               protocol::build_id());
  } else if (auto st = listen(); !st) {
    return refuse(st.error().message);
  } else {
    m_log.info("kodebased {} (build {}) serving {}", protocol::version(), protocol::build_id(),
               m_options.paths.socket.string());
  }
  start_github();
  if (!m_options.webhook.listen.empty()) {
    m_webhooks = std::make_unique<WebhookDoor>(
        m_io, *m_github, m_options.webhook,
        [this](const std::string& team, json envelope) {
          m_relay->follow(team);
          m_relay->publish(team, std::move(envelope));
        },
        [this](const std::string& s) { m_log.info("{}", s); });
    if (auto st = m_webhooks->listen(); !st)
      return refuse(st.error().message);
    m_log.info("GitHub webhooks on {} (port {})", m_options.webhook.listen, m_webhooks->port());
  }
  if (m_options.ready_fd >= 0) {
    (void)!::write(m_options.ready_fd, "OK\n", 3);
    ::close(m_options.ready_fd);
  }
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

} // namespace

int run_daemon(const ServerOptions& options, Log& log) {
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(options, log);
  return daemon.run();
}

} // namespace kb::daemon::server
