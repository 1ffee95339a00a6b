#pragma once

// The resident daemon's insides, shared by the files that implement it (routes, sessions,
// subscriptions, the team and GitHub bridges, the daemon's life): not for other modules,
// whose door is server.hpp.

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
        m_projects(options.poll ? WarmProjects::Watch::poll : WarmProjects::Watch::inotify,
                   std::chrono::seconds(600), options.settle),
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
  // Where the route table sends `method`: to a bridge, to the daemon's own handler, or (no
  // route) to the core API on the project's lane.
  enum class Runs { bridge, here, lane };
  static Runs runs(std::string_view method) {
    const Route* r = route_of(method);
    return !r ? Runs::lane : r->bridge ? Runs::bridge : Runs::here;
  }
  bool stopping() const { return m_stopping; }
  const ServerOptions& options() const { return m_options; }
  Log& log() { return m_log; }

private:
  // The steps of run(): SIGHUP reopens the log, SIGTERM and SIGINT stop; the socket, the
  // GitHub doors and the webhook port (a failure is the daemon's refusal to start); a line to
  // whoever started us (--ready-fd: "OK" or why not); the team relay; after serving, everything
  // stopped in order (0, the exit code).
  void wait_signal();
  util::Status open_doors();
  void tell_starter(const std::string& line);
  void start_team_relay();
  int stop_services();
  util::Status listen();
  void accept();
  void on_tick();
  void shutdown(const std::string& why);
  // Runs `work` on the strand of the project at `root` (a worker thread), then `done` with its
  // result on the daemon's thread. Work about one project runs one piece at a time, in order;
  // different projects are served at the same time, so loading a large project delays only
  // its own clients.
  template <class Work, class Done> void in_lane(const fs::path& root, Work work, Done done);
  // Where a request runs, by method (the route table, routes.cpp): a bridge to the team,
  // GitHub or the pull-request workflow (true when it answered at once, false when it will
  // answer later and resume the session), or a method of the daemon's own answered `here` (false
  // to send it on to the lane after all). A method without a route is the core API's, on its
  // project's lane.
  struct Route {
    std::string_view method;
    bool (*bridge)(Daemon&, const std::shared_ptr<Session>&, protocol::Request&,
                   bool answer) = nullptr;
    bool (*here)(Daemon&, Session&, const protocol::Request&, protocol::Response&) = nullptr;
  };
  static const Route* route_of(std::string_view method);
  json github_status() const;
  void cache_clear(const protocol::Request& request, protocol::Response& response);
  // subscribe / unsubscribe: false when the project must be loaded (on its lane) first.
  bool subscribe(Session& session, const protocol::Request& request, protocol::Response& response);
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
  // While anyone subscribes, settled changes are looked for every options.watch_interval.
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

// Sends the answer to a request served later (unless it was a notification) and lets its
// session go on.
inline void settle(const std::shared_ptr<Session>& session, const json& id, bool answer,
                   util::Result<json> result) {
  if (answer)
    session->send(protocol::serialize(result
                                          ? protocol::Response{id, std::move(*result), std::nullopt}
                                          : protocol::error_response(id, result.error())));
  session->resume();
}

} // namespace kb::daemon::server
