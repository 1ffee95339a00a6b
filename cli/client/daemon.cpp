#include "cli/client/daemon.hpp"

#include "cli/client/oneshot.hpp"
#include "core/protocol/build_info.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/methods.hpp"
#include "core/protocol/runtime.hpp"
#include "core/util/fd.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kb::cli::client {

namespace method = protocol::method;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

util::Result<protocol::RuntimePaths> paths() {
  std::string error;
  auto p = protocol::runtime_paths(true, error);
  if (!p)
    return unavailable(error);
  return *p;
}

// A connected socket, closed on scope exit.
class Connection {
public:
  Connection() = default;
  explicit Connection(int fd) : m_fd(fd) {}
  Connection(Connection&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Connection& operator=(Connection&& o) noexcept {
    std::swap(m_fd, o.m_fd);
    return *this;
  }
  ~Connection() {
    if (m_fd >= 0)
      ::close(m_fd);
  }

  // The next line the daemon sends. With a sink, its bytes go there as they arrive (a large
  // reply is never held whole) and the line returned is empty.
  util::Result<std::string> read_line(const ReplySink* sink = nullptr) {
    std::string line;
    auto take = [&](std::string_view bytes) {
      if (sink)
        (*sink)(bytes);
      else
        line.append(bytes);
    };
    std::string_view pending = m_buffer;
    if (auto nl = pending.find('\n'); nl != std::string_view::npos) {
      take(pending.substr(0, nl));
      m_buffer.erase(0, nl + 1);
      return line;
    }
    take(pending);
    m_buffer.clear();
    thread_local char buf[256 * 1024]; // channels may read on several threads
    for (;;) {
      ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return unavailable("the daemon closed the connection",
                           "see `kodebase daemon log`, or use --no-daemon");
      std::string_view chunk(buf, static_cast<size_t>(n));
      if (auto nl = chunk.find('\n'); nl != std::string_view::npos) {
        take(chunk.substr(0, nl));
        m_buffer.assign(chunk.substr(nl + 1));
        return line;
      }
      take(chunk);
    }
  }

  // One request, one reply line (or, with a sink, the reply streamed to it).
  util::Result<std::string> call(std::string_view name, const json& params,
                                 const ReplySink* sink = nullptr) {
    KB_TRY(send_request(name, params));
    return read_line(sink);
  }

  util::Status send_request(std::string_view name, const json& params) {
    auto line = protocol::serialize(protocol::Request{1, std::string(name), params}) + "\n";
    for (std::string_view rest = line; !rest.empty();) {
      ssize_t n = ::send(m_fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return unavailable(fmt::format("lost the daemon while sending: {}", std::strerror(errno)));
      rest.remove_prefix(static_cast<size_t>(n));
    }
    return util::ok_status();
  }

  int fd() const { return m_fd; }

private:
  int m_fd = -1;
  std::string m_buffer;
};

// Connects to the socket; `error` is errno on failure (ENOENT/ECONNREFUSED: nobody serves).
std::optional<Connection> connect_socket(const protocol::RuntimePaths& p, int& error) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno;
    return std::nullopt;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, p.socket.c_str(), sizeof addr.sun_path - 1);
  while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR)
      continue;
    error = errno;
    ::close(fd);
    return std::nullopt;
  }
  return Connection(fd);
}

bool nobody_serves(int error) {
  return error == ENOENT || error == ECONNREFUSED;
}

// The daemon's environment: ours, minus what belongs to one caller (the actor is sent with
// each request). Not the one-shot heap tuning: huge pages would make a long-lived heap
// larger, not faster.
std::vector<std::string> spawn_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("KODEBASE_ACTOR="))
      env.emplace_back(*e);
  return env;
}

// Starts `kodebased --ready-fd 3` in a new session with /dev/null stdio in /, and waits for
// its readiness line: "OK", or the reason it cannot serve.
util::Status spawn_daemon() {
  auto binary = find_daemon_binary();
  if (!binary)
    return unavailable("cannot find kodebased next to kodebase or on PATH",
                       "install both binaries in one directory, or set KODEBASE_DAEMON_BIN");
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0)
    return unavailable(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, ready[1], 3);
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  auto env = spawn_environment();
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = binary->string();
  char arg0[] = "kodebased", arg1[] = "--ready-fd", arg2[] = "3";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(ready[1]);
  if (rc != 0) {
    ::close(ready[0]);
    return unavailable(fmt::format("cannot run {}: {}", path, std::strerror(rc)));
  }
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd pfd{ready[0], POLLIN, 0};
    if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) == 0) {
      ::close(ready[0]);
      return unavailable("kodebased did not become ready within 10 s",
                         "see `kodebase daemon log`, or use --no-daemon");
    }
    char buf[512];
    ssize_t n = util::read_some(ready[0], buf, sizeof buf);
    if (n <= 0)
      break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(ready[0]);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.pop_back();
  if (line == "OK")
    return util::ok_status();
  if (line.empty())
    return unavailable("kodebased exited before it was ready",
                       "see `kodebase daemon log`, or use --no-daemon");
  return unavailable("kodebased could not start: " + line);
}

// Connects, retrying briefly (from 10 ms, doubling, ~3 s) while a just-started daemon binds.
util::Result<Connection> connect_after_start(const protocol::RuntimePaths& p) {
  int error = 0;
  auto delay = 10ms;
  for (auto waited = 0ms; waited < 3s; waited += delay, delay *= 2) {
    if (auto c = connect_socket(p, error))
      return std::move(*c);
    if (!nobody_serves(error))
      break;
    std::this_thread::sleep_for(delay);
  }
  return unavailable(
      fmt::format("cannot connect to {}: {}", p.socket.string(), std::strerror(error)));
}

// Waits (bounded) until no daemon holds the lock, i.e. the old one has fully exited.
bool wait_for_exit(const protocol::RuntimePaths& p) {
  for (auto waited = 0ms; waited < 10s; waited += 20ms) {
    int fd = ::open(p.lock.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return true; // removed by the exiting daemon
    bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    if (free)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

util::Result<json> hello_on(Connection& c) {
  auto reply = c.call(method::hello, {{"protocol", protocol::k_protocol_version},
                                      {"build_id", protocol::build_id()},
                                      {"version", protocol::version()}});
  KB_TRY(reply);
  return parse_reply(*reply);
}

// A connection to a daemon of our own build: started when nobody serves (if allowed), and
// restarted when the one serving is another build.
util::Result<Connection> connect_daemon(Autostart autostart) {
  auto p = paths();
  KB_TRY(p);
  const char* off = std::getenv("KODEBASE_NO_AUTOSTART");
  bool may_start = autostart == Autostart::yes && !(off && *off && std::string_view(off) != "0");
  for (int attempt = 0; attempt < 2; ++attempt) {
    int error = 0;
    auto c = connect_socket(*p, error);
    if (!c) {
      if (!nobody_serves(error))
        return unavailable(fmt::format("cannot connect to the daemon at {}: {}", p->socket.string(),
                                       std::strerror(error)),
                           "check the permissions of the runtime directory, or use --no-daemon");
      if (!may_start)
        return unavailable("the kodebase daemon is not running",
                           autostart == Autostart::yes
                               ? "KODEBASE_NO_AUTOSTART is set: start it with `kodebase daemon "
                                 "start`, or use --no-daemon"
                               : "start it with `kodebase daemon start`");
      KB_TRY(spawn_daemon());
      auto started = connect_after_start(*p);
      KB_TRY(started);
      c = std::move(*started);
    }
    auto hello = hello_on(*c);
    KB_TRY(hello);
    if (hello->value("build_id", "") == protocol::build_id() &&
        hello->value("protocol", 0) == protocol::k_protocol_version)
      return std::move(*c);
    if (!may_start)
      return std::move(*c); // control commands talk to whatever runs, and say so
    // Another build serves (kodebase was upgraded): replace it with ours.
    (void)c->call(method::daemon_shutdown, json::object());
    *c = Connection();
    if (!wait_for_exit(*p))
      return unavailable("the daemon of another kodebase build did not stop within 10 s",
                         "stop it with `kodebase daemon stop`, or use --no-daemon");
  }
  return unavailable("could not reach a daemon of this build");
}

} // namespace

util::Result<std::string> exchange_daemon(std::string_view name, const json& params,
                                          Autostart autostart, const ReplySink* sink) {
  auto c = connect_daemon(autostart);
  KB_TRY(c);
  return c->call(name, params, sink);
}

util::Status follow(const json& params, const std::function<bool(const std::string&)>& on_line) {
  auto c = connect_daemon(Autostart::yes);
  KB_TRY(c);
  auto reply = c->call(method::subscribe, params);
  KB_TRY(reply);
  KB_TRY(parse_reply(*reply));
  for (;;) {
    auto line = c->read_line();
    KB_TRY(line);
    if (!on_line(*line))
      return util::ok_status();
  }
}

util::Result<json> daemon_hello() {
  auto p = paths();
  KB_TRY(p);
  int error = 0;
  auto c = connect_socket(*p, error);
  if (!c)
    return unavailable(nobody_serves(error)
                           ? "the kodebase daemon is not running"
                           : fmt::format("cannot connect to the daemon: {}", std::strerror(error)));
  return hello_on(*c);
}

util::Result<json> start_daemon() {
  if (auto running = daemon_hello())
    return running;
  auto p = paths();
  KB_TRY(p);
  KB_TRY(spawn_daemon());
  auto c = connect_after_start(*p);
  KB_TRY(c);
  return hello_on(*c);
}

util::Result<bool> stop_daemon() {
  auto p = paths();
  KB_TRY(p);
  int error = 0;
  auto c = connect_socket(*p, error);
  if (!c) {
    if (nobody_serves(error))
      return false;
    return unavailable(fmt::format("cannot connect to the daemon: {}", std::strerror(error)));
  }
  auto reply = c->call(method::daemon_shutdown, json::object());
  KB_TRY(reply);
  *c = Connection();
  if (!wait_for_exit(*p))
    return unavailable("the daemon did not stop within 10 s",
                       "see `kodebase daemon log`; its pid is in " + p->lock.string());
  return true;
}

struct Channel::Impl {
  std::optional<Connection> connection;
  std::atomic<int> fd{-1};
  std::atomic<bool> interrupted{false};

  util::Status connect() {
    if (interrupted)
      return unavailable("the connection to the daemon was closed");
    auto c = connect_daemon(Autostart::yes);
    KB_TRY(c);
    connection = std::move(*c);
    fd = connection->fd();
    if (interrupted) // closed while connecting
      ::shutdown(fd, SHUT_RDWR);
    return util::ok_status();
  }
  void drop() {
    fd = -1;
    connection.reset();
  }
};

Channel::Channel() : m(std::make_unique<Impl>()) {}
Channel::~Channel() = default;

util::Result<std::string> Channel::call(std::string_view method, const json& params) {
  bool resend = protocol::method_has(method, protocol::k_read);
  for (int attempt = 0;; ++attempt) {
    bool fresh = !m->connection;
    if (fresh)
      KB_TRY(m->connect());
    if (auto st = m->connection->send_request(method, params); !st) {
      m->drop(); // not delivered: the daemon went away since the last request
      if (attempt == 0 && !fresh && !m->interrupted)
        continue;
      return st.error();
    }
    auto reply = m->connection->read_line();
    if (reply)
      return reply;
    m->drop();
    if (attempt == 0 && resend && !m->interrupted)
      continue;
    return util::make_error(
        util::ErrorKind::unavailable,
        fmt::format("the daemon went away while answering {}", method),
        {{"hint", resend ? "see `kodebase daemon log`"
                         : "the change may or may not have been made: read the artifact again "
                           "before retrying"}});
  }
}

util::Result<std::string> Channel::read_line() {
  if (!m->connection)
    return unavailable("not connected to the daemon");
  auto line = m->connection->read_line();
  if (!line)
    m->drop();
  return line;
}

void Channel::interrupt() {
  m->interrupted = true;
  if (int fd = m->fd; fd >= 0)
    ::shutdown(fd, SHUT_RDWR);
}

std::string daemon_log_file() {
  return (protocol::state_dir() / "daemon.log").string();
}

} // namespace kb::cli::client
