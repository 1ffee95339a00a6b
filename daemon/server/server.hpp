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

// What the daemon is asked to be. Built by kodebased's main from the settings table (the one
// place each setting's default lives; a field named after a setting comes from it) and the
// environment table there.
struct ServerOptions {
  protocol::RuntimePaths paths;
  std::chrono::seconds idle_timeout{}; // daemon.idle_timeout (0 = never)
  std::size_t max_frame = 16 * 1024 * 1024;
  std::size_t subscriber_queue = 1000;       // notifications queued per subscriber before a resync
  std::size_t max_pending_replies = 4 << 20; // bytes of replies a client has not read before
                                             // the daemon stops reading its requests
  int ready_fd = -1;                         // written "OK" (or the error) once serving
  int listen_fd = -1;                        // an inherited listening socket (systemd activation)
  bool poll = false; // notice changes by polling instead of inotify (network file systems)
  std::chrono::milliseconds watch_interval{50}; // looks for changes while anyone subscribes
  std::chrono::milliseconds settle{150};        // quiet after file events before they are read
  github::ProxyOptions github;
  int github_port = -1;    // also serve the GitHub API on 127.0.0.1:PORT (-1: no; 0: any free port)
  github::HttpLimits http; // github.sock and the loopback port (the webhook door has its own)
  realtime::LinkOptions realtime;     // the team's Redis (url "" = off)
  std::string realtime_secret_file;   // the team secret that signs updates
  std::string realtime_secret;        // ... or the secret itself ($KODEBASE_TEAM_SECRET)
  std::size_t history = 0;            // realtime.history: team updates kept in the stream
  std::chrono::seconds history_ttl{}; // realtime.history_ttl: the stream's life after it
  std::chrono::seconds claim_ttl{};   // realtime.claim_ttl: a claim's default lease
  std::chrono::seconds id_reservation_ttl{30 * 86400}; // an ID counter's life after its last use
  std::chrono::milliseconds presence_interval{15000};  // heartbeats (entries live 3 of them)
  std::chrono::seconds sync_interval{}; // github.sync_interval: merged pull requests (0 = never)
  WebhookOptions webhook;               // GitHub webhooks (listen "" = off)
  bool no_socket = false;               // the hosted relay: no daemon.sock, no idle exit
};

// The resident daemon: one per user, serving the kodebase protocol on the runtime socket until
// SIGTERM/SIGINT, `daemon.shutdown` or the idle timeout. Returns the process exit code.
int run_daemon(const ServerOptions& options, Log& log);

} // namespace kb::daemon::server
