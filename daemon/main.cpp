// kodebased: the kodebase server. It runs as the per-user resident daemon (what `kodebase`
// starts on first use), or answers one request on stdio with `--oneshot`.
#include "core/api/methods.hpp"
#include "core/api/settings.hpp"
#include "core/protocol/build_info.hpp"
#include "core/protocol/runtime.hpp"
#include "core/util/file.hpp"
#include "core/util/log.hpp"
#include "daemon/realtime/relay.hpp"
#include "daemon/server/oneshot.hpp"
#include "daemon/server/server.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <fmt/format.h>
#include <limits>
#include <malloc.h>
#include <string>
#include <string_view>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr const char* k_usage =
    R"(usage: kodebased [--foreground] [--idle-timeout SECONDS] [--ready-fd FD]
                 [--webhook-listen ADDR [--webhook-secret-file FILE] [--webhook-max-body BYTES]
                  [--no-socket]]
       kodebased --oneshot
       kodebased --version

The kodebase server. `kodebase` starts it for you on first use; you rarely run it by hand.

Without --oneshot it is the per-user daemon: it serves the kodebase protocol (newline-delimited
JSON-RPC 2.0) on $KODEBASE_RUNTIME_DIR/daemon.sock (default $XDG_RUNTIME_DIR/kodebase, else
/tmp/kodebase-UID), keeps projects loaded and watched, and exits after SIGTERM, SIGINT,
`kodebase daemon stop` or the idle timeout. A second daemon for the same user exits at once.

  --foreground          log to standard error instead of $XDG_STATE_HOME/kodebase/daemon.log
  --idle-timeout SECS   exit after this long with no clients (default 1800, or
                        $KODEBASE_DAEMON_IDLE_TIMEOUT; 0 = never)
  --ready-fd FD         write "OK" (or the reason it cannot serve) to FD once listening
  --webhook-listen ADDR receive GitHub webhooks on ADDR (PORT, or HOST:PORT; PORT alone is
                        127.0.0.1 - put a TLS reverse proxy in front for the internet): a
                        push touching .kodebase/artifacts/ and pull requests opened, ready or
                        merged are shared with the team through the relay (Redis and team
                        secret as for `kodebase team connect`); GET /healthz answers 200
  --webhook-secret-file FILE
                        the webhook's secret (else $KODEBASE_WEBHOOK_SECRET); deliveries
                        whose X-Hub-Signature-256 does not match get 401
  --webhook-max-body BYTES
                        larger deliveries get 413 (default 26214400, GitHub's cap)
  --no-socket           serve no daemon.sock and never exit idle: the hosted relay, with no
                        local repository (use with --foreground under systemd or in a
                        container; run it as its own user)
  --oneshot             read one request from standard input, write the reply to standard
                        output and exit (what `kodebase --no-daemon` uses)
  --version             print the version and build id
  -h, --help            show this help

Changes are noticed with inotify; on file systems where it sees nothing of other machines'
writes (NFS, SMB), set KODEBASE_DAEMON_WATCH=poll or `kodebase config set daemon.watch poll`.
)";

bool parse_number(std::string_view text, long& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && out >= 0;
}

// Tells whoever started us (through --ready-fd) why we cannot serve, and on stderr.
int fail(int ready_fd, const std::string& message, int code) {
  std::fprintf(stderr, "kodebased: %s\n", message.c_str());
  if (ready_fd >= 0) {
    auto line = message + "\n";
    (void)!::write(ready_fd, line.data(), line.size());
    ::close(ready_fd);
  }
  return code;
}

// A whole number of the user's settings, else the setting's default (the settings table is
// the one place defaults live).
long user_number(std::string_view key) {
  long fallback = 0;
  if (const auto* setting = kb::api::find_setting(key))
    (void)parse_number(setting->fallback, fallback);
  auto v = kb::api::written_value(kb::api::user_config_file(), key, true);
  long out = fallback;
  if (v.is_number_integer() && v.get<long>() >= 0)
    out = v.get<long>();
  else if (v.is_string() && !parse_number(v.get<std::string>(), out))
    out = fallback;
  return out;
}

// The daemon's tuning knobs in its environment, each once: its variable, the whole numbers it
// takes and what it sets. A value out of range is refused, naming the variable.
struct EnvironmentOption {
  const char* name;
  long min, max;
  const char* meaning;
  void (*set)(kb::daemon::server::ServerOptions&, long);
};

using Options = kb::daemon::server::ServerOptions;
constexpr long k_any = std::numeric_limits<long>::max();
constexpr EnvironmentOption k_environment[] = {
    {"KODEBASE_HTTP_TIMEOUT", 1, k_any, "seconds the HTTP doors wait for a request or a reader",
     [](Options& o, long v) {
       for (auto* limits : {&o.http, &o.webhook.limits})
         limits->request_timeout = limits->idle_timeout = limits->write_timeout =
             std::chrono::seconds(v);
     }},
    {"KODEBASE_HTTP_MAX_CONNECTIONS", 1, k_any, "connections each HTTP door serves at once",
     [](Options& o, long v) {
       o.http.max_connections = o.webhook.limits.max_connections = static_cast<size_t>(v);
     }},
    {"KODEBASE_DAEMON_MAX_FRAME", 1024, k_any, "bytes of the largest request",
     [](Options& o, long v) { o.max_frame = static_cast<size_t>(v); }},
    {"KODEBASE_DAEMON_QUEUE", 1, k_any, "notifications queued per subscriber before a resync",
     [](Options& o, long v) { o.subscriber_queue = static_cast<size_t>(v); }},
    {"KODEBASE_DAEMON_WATCH_MS", 1, 60000,
     "milliseconds between looks for changes while anyone subscribes",
     [](Options& o, long v) { o.watch_interval = std::chrono::milliseconds(v); }},
    {"KODEBASE_DAEMON_SETTLE_MS", 0, 60000,
     "milliseconds without a new file event before changes are read",
     [](Options& o, long v) { o.settle = std::chrono::milliseconds(v); }},
    {"KODEBASE_GITHUB_RESERVE", 0, k_any, "GitHub quota kept back from background calls",
     [](Options& o, long v) { o.github.reserve = v; }},
    {"KODEBASE_GITHUB_CONCURRENCY", 1, 1000, "GitHub requests in flight at once",
     [](Options& o, long v) { o.github.max_concurrent = static_cast<int>(v); }},
    {"KODEBASE_GITHUB_SPACING_MS", 0, k_any,
     "milliseconds between GitHub mutations (searches: twice that)",
     [](Options& o, long v) {
       o.github.mutation_spacing = std::chrono::milliseconds(v);
       o.github.search_spacing = 2 * o.github.mutation_spacing;
     }},
    {"KODEBASE_GITHUB_SYNC_INTERVAL", 0, k_any,
     "seconds between checks for merged pull requests (0 = never; else github.sync_interval)",
     [](Options& o, long v) { o.sync_interval = std::chrono::seconds(v); }},
    {"KODEBASE_REALTIME_PRESENCE_MS", 1, k_any, "milliseconds between presence heartbeats",
     [](Options& o, long v) { o.presence_interval = std::chrono::milliseconds(v); }},
};

// Applies the environment's knobs to `options`; the reason one cannot be used, or "".
std::string apply_environment(Options& options) {
  for (const auto& option : k_environment) {
    const char* env = std::getenv(option.name);
    if (!env || !*env)
      continue;
    long value = 0;
    if (!parse_number(env, value) || value < option.min || value > option.max)
      return fmt::format("{} must be a whole number {}, not `{}` ({})", option.name,
                         option.max == k_any ? fmt::format("of at least {}", option.min)
                                             : fmt::format("from {} to {}", option.min, option.max),
                         env, option.meaning);
    option.set(options, value);
  }
  return "";
}

// What stat says of the user's settings file: it changed when this does.
std::string settings_signature() {
  struct stat st {};
  auto file = kb::api::user_config_file();
  if (::stat(file.c_str(), &st) != 0)
    return "";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// The GitHub proxy's settings: $KODEBASE_GITHUB_API_URL, else the `github.api_url` setting;
// cache size and fresh windows from the user's settings, else the defaults. The reason they
// cannot be used, or "" when they were applied to `o`.
std::string github_settings(kb::daemon::github::ProxyOptions& o) {
  auto api_url = kb::api::written_value(kb::api::user_config_file(), "github.api_url", true);
  std::string url = kb::daemon::github::ProxyOptions{}.api_url;
  if (api_url.is_string() && !api_url.get<std::string>().empty())
    url = api_url.get<std::string>();
  if (const char* env = std::getenv("KODEBASE_GITHUB_API_URL"); env && *env)
    url = env;
  if (!url.starts_with("https://") && !url.starts_with("http://"))
    return "github.api_url must be an http(s) URL such as https://api.github.com, not `" + url +
           "`";
  o.api_url = url;
  o.cache_bytes = static_cast<size_t>(user_number("github.cache_mb")) << 20;
  o.fresh_default = std::chrono::seconds(user_number("github.fresh.default"));
  o.fresh_contents = std::chrono::seconds(user_number("github.fresh.contents"));
  o.fresh_commits = std::chrono::seconds(user_number("github.fresh.commits"));
  o.fresh_repository = std::chrono::seconds(user_number("github.fresh.repository"));
  if (const char* env = std::getenv("KODEBASE_GITHUB_FRESH"); env && *env) {
    long seconds = 0;
    if (parse_number(env, seconds) && seconds >= 0)
      o.fresh_contents = o.fresh_commits = o.fresh_repository = o.fresh_default =
          std::chrono::seconds(seconds);
  }
  return "";
}

// A listening socket handed over by systemd (LISTEN_PID/LISTEN_FDS), or -1.
int inherited_socket() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  long p = 0, n = 0;
  if (!pid || !fds || !parse_number(pid, p) || !parse_number(fds, n) || p != ::getpid() || n < 1)
    return -1;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  return 3; // SD_LISTEN_FDS_START
}

// The team relay's Redis: $KODEBASE_REDIS_URL, else the `realtime.redis_url` setting (unset:
// the relay is off); intervals from the environment, for tests.
kb::daemon::realtime::LinkOptions realtime_options() {
  kb::daemon::realtime::LinkOptions o;
  auto text = [](const char* key) {
    auto v = kb::api::written_value(kb::api::user_config_file(), key, true);
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  o.url = text("realtime.redis_url");
  o.ca_file = text("realtime.ca_file");
  if (const char* env = std::getenv("KODEBASE_REDIS_URL"); env && *env)
    o.url = env;
  auto ms = [](const char* name, std::chrono::milliseconds& out) {
    long n = 0;
    if (const char* env = std::getenv(name); env && *env && parse_number(env, n) && n > 0)
      out = std::chrono::milliseconds(n);
  };
  ms("KODEBASE_REALTIME_TIMEOUT_MS", o.timeout);
  ms("KODEBASE_REALTIME_PING_MS", o.ping_interval);
  ms("KODEBASE_REALTIME_BACKOFF_MS", o.backoff_base);
  ms("KODEBASE_REALTIME_BACKOFF_CAP_MS", o.backoff_cap);
  return o;
}

struct WebhookFlags {
  std::string listen, secret_file;
  long max_body = 25L << 20;
  bool no_socket = false;
};

// The webhook relay's options from its flags and environment (the secrets then leave the
// environment); why they cannot be used, or "".
std::string webhook_options(const WebhookFlags& webhook, Options& options) {
  if (!webhook.listen.empty()) {
    if (auto at = kb::daemon::server::parse_listen_address(webhook.listen); !at)
      return at.error().message;
    options.webhook.listen = webhook.listen;
    options.webhook.max_body = static_cast<size_t>(webhook.max_body);
    if (!webhook.secret_file.empty())
      options.webhook.secret = kb::daemon::realtime::read_secret(webhook.secret_file);
    else if (const char* env = std::getenv("KODEBASE_WEBHOOK_SECRET"); env && *env)
      options.webhook.secret = env;
    if (options.webhook.secret.empty())
      return "--webhook-listen needs the webhook's secret: --webhook-secret-file FILE or "
             "$KODEBASE_WEBHOOK_SECRET (the one set on GitHub's webhook page)";
    if (const char* env = std::getenv("KODEBASE_WEBHOOK_GITHUB_TOKEN"); env && *env)
      options.webhook.token = env;
  }
  ::unsetenv("KODEBASE_WEBHOOK_SECRET");
  ::unsetenv("KODEBASE_WEBHOOK_GITHUB_TOKEN");
  options.no_socket = webhook.no_socket;
  return "";
}

// The resident daemon's options from the user's settings, then the environment (which
// overrides them: tests and benchmarks use it); why they cannot be used, or "".
std::string resident_options(Options& options) {
  // How changes are noticed: $KODEBASE_DAEMON_WATCH, else the `daemon.watch` setting.
  auto setting = kb::api::written_value(kb::api::user_config_file(), "daemon.watch", true);
  std::string watch = setting.is_string() ? setting.get<std::string>() : "inotify";
  if (const char* env = std::getenv("KODEBASE_DAEMON_WATCH"); env && *env)
    watch = env;
  if (watch != "inotify" && watch != "poll")
    return "KODEBASE_DAEMON_WATCH / daemon.watch must be `inotify` or `poll`, not `" + watch + "`";
  options.poll = watch == "poll";
  if (auto why = github_settings(options.github); !why.empty())
    return why;
  options.github.cache_file = kb::protocol::cache_dir() / "github.sqlite";
  // `config set github.…` (or an edit of the file) takes effect with the next request.
  options.github.refresh = [seen =
                                settings_signature()](kb::daemon::github::ProxyOptions& o) mutable {
    auto now = settings_signature();
    if (now == seen)
      return false;
    seen = now;
    return github_settings(o).empty();
  };
  options.github.secret_file = kb::protocol::state_dir() / "github.secret";
  if (const char* env = std::getenv("KODEBASE_GITHUB_PORT"); env && *env) {
    long port = 0;
    if (!parse_number(env, port) || port > 65535)
      return std::string("KODEBASE_GITHUB_PORT must be a port number (0 for any free one), not `") +
             env + "`";
    options.github_port = static_cast<int>(port);
  }
  options.sync_interval = std::chrono::seconds(user_number("github.sync_interval"));
  options.realtime = realtime_options();
  if (auto v =
          kb::api::written_value(kb::api::user_config_file(), "realtime.team_secret_file", true);
      v.is_string())
    options.realtime_secret_file = v.get<std::string>();
  if (const char* env = std::getenv("KODEBASE_TEAM_SECRET"); env && *env)
    options.realtime_secret = env;
  ::unsetenv("KODEBASE_TEAM_SECRET"); // not handed on to anything the daemon runs
  options.history = static_cast<size_t>(std::max(100L, user_number("realtime.history")));
  options.history_ttl = std::chrono::seconds(user_number("realtime.history_ttl"));
  options.claim_ttl = std::chrono::seconds(std::max(1L, user_number("realtime.claim_ttl")));
  return apply_environment(options);
}

int run_resident(bool foreground, long idle_timeout, int ready_fd, const WebhookFlags& webhook) {
  std::string error;
  auto paths = kb::protocol::runtime_paths(true, error);
  if (!paths)
    return fail(ready_fd, error, 3);
  Options options;
  if (auto why = webhook_options(webhook, options); !why.empty())
    return fail(ready_fd, why, 2);
  // The lock is held for the daemon's whole life: one daemon per user (a hosted relay serves
  // no socket and takes none).
  int lock =
      webhook.no_socket ? -2 : ::open(paths->lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock == -1)
    return fail(ready_fd, "cannot open " + paths->lock.string() + ": " + std::strerror(errno), 3);
  if (lock >= 0 && ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return fail(ready_fd, "cannot lock " + paths->lock.string() + ": " + std::strerror(errno), 3);
    std::fputs("kodebased: already running\n", stderr);
    if (ready_fd >= 0) {
      (void)!::write(ready_fd, "OK\n", 3); // the one that runs will answer
      ::close(ready_fd);
    }
    return 0;
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (lock >= 0 && ::ftruncate(lock, 0) == 0)
    (void)!::pwrite(lock, pid.data(), pid.size(), 0);

  // The daemon's state and cache are private, also when an older version made them wider.
  kb::util::create_private_directories(kb::protocol::state_dir());
  kb::util::create_private_directories(kb::protocol::cache_dir());
  kb::daemon::server::Log log(foreground ? std::filesystem::path()
                                         : kb::protocol::state_dir() / "daemon.log");
  kb::util::set_warning_sink([&log](std::string_view w) { log.info("{}", w); });
  options.paths = *paths;
  options.idle_timeout = std::chrono::seconds(idle_timeout);
  if (auto why = resident_options(options); !why.empty())
    return fail(ready_fd, why, 2);
  options.ready_fd = ready_fd;
  options.listen_fd = inherited_socket();
  int code = kb::daemon::server::run_daemon(options, log);
  if (lock >= 0) {
    ::unlink(paths->lock.c_str()); // we still hold it: nobody else can be using it
    ::close(lock);
  }
  return code;
}

} // namespace

int main(int argc, char** argv) {
  // A token in the environment belongs to the client that happened to start the daemon: each
  // request brings its own (the CLI passes GH_TOKEN along), and `gh auth token` must report
  // the stored login, not that client's variable.
  for (const char* name :
       {"GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"})
    ::unsetenv(name);
  bool oneshot = false, foreground = false;
  WebhookFlags webhook;
  long ready_fd = -1;
  // The idle timeout: --idle-timeout, else $KODEBASE_DAEMON_IDLE_TIMEOUT, else the user's
  // `daemon.idle_timeout` setting (by default 30 minutes).
  long idle_timeout = user_number("daemon.idle_timeout");
  if (const char* env = std::getenv("KODEBASE_DAEMON_IDLE_TIMEOUT"); env && *env)
    if (!parse_number(env, idle_timeout)) {
      std::fprintf(stderr, "kodebased: KODEBASE_DAEMON_IDLE_TIMEOUT must be seconds, not '%s'\n",
                   env);
      return 2;
    }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](long& out) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], out)) {
        std::fprintf(stderr, "kodebased: %s needs a non-negative number\n%s", argv[i], k_usage);
        std::exit(2);
      }
      ++i;
    };
    if (arg == "--oneshot") {
      oneshot = true;
    } else if (arg == "--foreground") {
      foreground = true;
    } else if (arg == "--idle-timeout") {
      value(idle_timeout);
    } else if (arg == "--ready-fd") {
      value(ready_fd);
    } else if (arg == "--webhook-listen" || arg == "--webhook-secret-file") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "kodebased: %s needs a value\n%s", argv[i], k_usage);
        return 2;
      }
      (arg == "--webhook-listen" ? webhook.listen : webhook.secret_file) = argv[++i];
    } else if (arg == "--webhook-max-body") {
      value(webhook.max_body);
    } else if (arg == "--no-socket") {
      webhook.no_socket = true;
    } else if (arg == "--version") {
      std::printf("kodebased %.*s (build %.*s)\n", static_cast<int>(kb::protocol::version().size()),
                  kb::protocol::version().data(), static_cast<int>(kb::protocol::build_id().size()),
                  kb::protocol::build_id().data());
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(k_usage, stdout);
      std::fputs("\nTuning, from the environment (whole numbers; out of range stops the daemon):\n",
                 stdout);
      for (const auto& option : k_environment)
        std::printf("  %-30s %s\n", option.name, option.meaning);
      return 0;
    } else {
      std::fprintf(stderr, "kodebased: unknown option '%s'\n%s", argv[i], k_usage);
      return 2;
    }
  }
  if (webhook.no_socket && webhook.listen.empty()) {
    std::fputs("kodebased: --no-socket is for the hosted webhook relay; give --webhook-listen ADDR "
               "too\n",
               stderr);
    return 2;
  }
  if (ready_fd >= 0)
    ::fcntl(static_cast<int>(ready_fd), F_SETFD, FD_CLOEXEC);
  try {
    if (!oneshot)
      return run_resident(foreground, idle_timeout, static_cast<int>(ready_fd), webhook);
    // A one-shot process lives for one request that may allocate ~100 MB in small blocks (a
    // 10,000-artifact project): growing the heap in large steps and never trimming it saves
    // most of the page-fault and brk cost, which dominates such a request.
    ::mallopt(M_TOP_PAD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
    kb::api::DiskProjectSource projects{kb::api::DiskProjectSource::Retain::until_exit};
    kb::api::Context ctx{projects, "oneshot"};
    int code = kb::daemon::server::run_oneshot(ctx, STDIN_FILENO, STDOUT_FILENO);
    // The reply is written; running destructors and exit handlers would only delay the
    // caller, so the process ends here.
    std::fflush(nullptr);
    std::_Exit(code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kodebased: fatal: %s\n", e.what());
    return 3;
  }
}
