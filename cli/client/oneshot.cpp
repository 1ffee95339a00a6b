#include "cli/client/oneshot.hpp"

#include "core/protocol/jsonrpc.hpp"
#include "core/util/fd.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace kb::cli::client {

namespace fs = std::filesystem;
using nlohmann::json;

util::Error unavailable(std::string message, std::string hint) {
  json details = nullptr;
  if (!hint.empty())
    details = {{"hint", std::move(hint)}};
  return util::make_error(util::ErrorKind::unavailable, std::move(message), std::move(details));
}

namespace {

// Both ends of a pipe, closed on scope exit unless released.
struct Pipe {
  int fds[2] = {-1, -1};
  bool open() { return ::pipe2(fds, O_CLOEXEC) == 0; }
  void close_end(int i) {
    if (fds[i] >= 0)
      ::close(fds[i]);
    fds[i] = -1;
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
};

// Everything until end of file, into `out` or (with a sink) piece by piece to the sink; the
// number of bytes read.
size_t read_all(int fd, std::string& out, const ReplySink* sink) {
  static char buf[256 * 1024];
  size_t total = 0;
  for (;;) {
    ssize_t n = util::read_some(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    std::string_view chunk(buf, static_cast<size_t>(n));
    total += chunk.size();
    if (sink)
      (*sink)(chunk);
    else
      out.append(chunk);
  }
  return total;
}

util::Result<std::string> run_child(const fs::path& binary, const std::string& request,
                                    const ReplySink* sink) {
  Pipe in, out;
  if (!in.open() || !out.open())
    return unavailable(fmt::format("cannot create pipes: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fds[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.fds[1], STDOUT_FILENO);
  std::string path = binary.string();
  char arg0[] = "kodebased";
  char arg1[] = "--oneshot";
  char* argv[] = {arg0, arg1, nullptr};
  auto env = oneshot_environment();
  std::vector<char*> envp;
  for (auto& entry : env)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return unavailable(fmt::format("cannot run {}: {}", path, std::strerror(rc)));
  in.close_end(0);
  out.close_end(1);
  // A child that dies early must not kill us with SIGPIPE while we write the request.
  auto old = std::signal(SIGPIPE, SIG_IGN);
  (void)util::write_all(in.fds[1], request); // a child that stops reading says so below
  in.close_end(1);
  std::string reply;
  size_t received = read_all(out.fds[0], reply, sink);
  std::signal(SIGPIPE, old);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (received == 0) {
    if (WIFSIGNALED(status))
      return unavailable(
          fmt::format("kodebased --oneshot was killed by signal {}", WTERMSIG(status)));
    return unavailable(fmt::format("kodebased --oneshot exited with status {} and no reply",
                                   WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  return reply;
}

} // namespace

// The environment for kodebased --oneshot: ours, plus glibc's `malloc.hugetlb` tunable unless the
// user set it. Loading a large project allocates ~100 MB in small blocks; backing the heap with
// transparent huge pages takes that from ~30,000 page faults to a few thousand, which is a
// third of a 10,000-artifact `list`. The tunable only advises the kernel (THP mode "madvise"),
// so it changes nothing where huge pages are off.
std::vector<std::string> oneshot_environment() {
  std::vector<std::string> env;
  bool have_tunables = false;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (entry.starts_with("GLIBC_TUNABLES=")) {
      have_tunables = true;
      if (entry.find("glibc.malloc.hugetlb=") == std::string::npos)
        entry += ":glibc.malloc.hugetlb=1";
    }
    env.push_back(std::move(entry));
  }
  if (!have_tunables)
    env.emplace_back("GLIBC_TUNABLES=glibc.malloc.hugetlb=1");
  return env;
}

std::optional<fs::path> find_daemon_binary() {
  if (const char* env = std::getenv("KODEBASE_DAEMON_BIN"); env && *env)
    return fs::path(env);
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = self.parent_path() / "kodebased";
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    if (!dir.empty()) {
      auto candidate = fs::path(dir) / "kodebased";
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    if (colon == std::string_view::npos)
      break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

util::Result<std::string> exchange_oneshot(std::string_view method, const json& params,
                                           const ReplySink* sink) {
  auto binary = find_daemon_binary();
  if (!binary)
    return util::make_error(util::ErrorKind::unavailable,
                            "cannot find kodebased next to kodebase or on PATH",
                            {{"hint", "install both binaries in one directory, or set "
                                      "KODEBASE_DAEMON_BIN"}});
  protocol::Request request{1, std::string(method), params};
  auto reply = run_child(*binary, protocol::serialize(request) + "\n", sink);
  KB_TRY(reply);
  if (auto nl = reply->find('\n'); nl != std::string::npos)
    reply->resize(nl);
  return reply;
}

util::Result<json> parse_reply(std::string_view line) {
  auto message = protocol::parse_message(line);
  if (!message)
    return unavailable(
        fmt::format("kodebased sent an unreadable reply: {}", message.error().message));
  auto* response = std::get_if<protocol::Response>(&*message);
  if (!response)
    return unavailable("kodebased sent something other than a reply");
  if (response->error)
    return protocol::to_error(*response->error);
  return std::move(*response->result);
}

} // namespace kb::cli::client
