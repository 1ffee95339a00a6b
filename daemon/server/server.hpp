#pragma once

#include "core/protocol/runtime.hpp"
#include "daemon/github/proxy.hpp"
#include "daemon/realtime/link.hpp"
#include "daemon/server/log.hpp"
#include "daemon/server/webhook_door.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

namespace kb::daemon::server {

struct ServerOptions {
  protocol::RuntimePaths paths;
  std::chrono::seconds idle_timeout{1800}; // 0 = never
  std::size_t max_frame = 16 * 1024 * 1024;
  std::size_t subscriber_queue = 1000;       // notifications queued per subscriber before a resync
  std::size_t max_pending_replies = 4 << 20; // bytes of replies a client has not read before
                                             // the daemon stops reading its requests
  int ready_fd = -1;                         // written "OK" (or the error) once serving
  int listen_fd = -1;                        // an inherited listening socket (systemd activation)
  bool poll = false; // notice changes by polling instead of inotify (network file systems)
  github::ProxyOptions github;
  int github_port = -1;    // also serve the GitHub API on 127.0.0.1:PORT (-1: no; 0: any free port)
  github::HttpLimits http; // github.sock and the loopback port (the webhook door has its own)
  realtime::LinkOptions realtime;       // the team's Redis (url "" = off)
  std::string realtime_secret_file;     // the team secret that signs updates
  std::string realtime_secret;          // ... or the secret itself ($KODEBASE_TEAM_SECRET)
  std::size_t history = 10000;          // team updates kept in the stream
  std::chrono::seconds history_ttl{0};  // the stream's life after its last update
  std::chrono::seconds claim_ttl{7200}; // a claim's default lease
  std::chrono::seconds id_reservation_ttl{30 * 86400}; // an ID counter's life after its last use
  std::chrono::milliseconds presence_interval{15000};  // heartbeats (entries live 3 of them)
  std::chrono::seconds sync_interval{300}; // checks for merged pull requests (0 = never)
  WebhookOptions webhook;                  // GitHub webhooks (listen "" = off)
  bool no_socket = false;                  // the hosted relay: no daemon.sock, no idle exit
};

// The resident daemon: one per user, serving the kodebase protocol on the runtime socket until
// SIGTERM/SIGINT, `daemon.shutdown` or the idle timeout. Returns the process exit code.
int run_daemon(const ServerOptions& options, Log& log);

} // namespace kb::daemon::server
