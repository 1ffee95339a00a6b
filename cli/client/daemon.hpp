#pragma once

#include "cli/client/oneshot.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace kb::cli::client {

// How to reach the resident daemon.
enum class Autostart { yes, no };

// Sends one request to the resident daemon and returns its reply line. Connecting fails over
// to starting the daemon (ENOENT or ECONNREFUSED only, unless autostart is off or
// KODEBASE_NO_AUTOSTART=1); a daemon of another build is stopped and started again, so an
// upgrade never leaves a "version mismatch". Errors are `unavailable` with the reason (the
// daemon's own message when it could not start).
// With a sink, the reply line goes there piece by piece as it arrives and "" is returned.
util::Result<std::string> exchange_daemon(std::string_view method, const nlohmann::json& params,
                                          Autostart autostart = Autostart::yes,
                                          const ReplySink* sink = nullptr);

// Subscribes with `params` (topics, directory or all) and hands each pushed notification line
// to `on_line` until it returns false or the daemon closes the connection (the returned status
// says which: ok when `on_line` ended it or the daemon announced its shutdown).
util::Status follow(const nlohmann::json& params,
                    const std::function<bool(const std::string& line)>& on_line);

// Whether a daemon answers on the socket, and its hello reply (pid, build…) when it does.
util::Result<nlohmann::json> daemon_hello();

// Starts the daemon and waits until it serves; its hello reply. Running already is fine.
util::Result<nlohmann::json> start_daemon();

// Asks the daemon to stop and waits (bounded) until it has released its lock. Returns false
// when no daemon was running.
util::Result<bool> stop_daemon();

// A lasting connection to the daemon for a long-lived client (the MCP adapter): connected on
// first use (autostarting the daemon, replacing one of another build) and connected again
// when the daemon went away, so a daemon restart goes unnoticed by the caller.
class Channel {
public:
  Channel();
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // One request and its reply line. When the connection turns out lost, the request is sent
  // once more on a new one if it cannot have been applied (it was not delivered) or repeating
  // it is harmless (a read: protocol::k_read).
  util::Result<std::string> call(std::string_view method, const nlohmann::json& params);
  // The next line the daemon pushes (notifications after `subscribe`); an error when the
  // connection is lost or interrupted.
  util::Result<std::string> read_line();
  // Ends a blocked call or read_line from another thread; the channel stays closed.
  void interrupt();

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

// $XDG_STATE_HOME/kodebase/daemon.log (where a detached daemon logs).
std::string daemon_log_file();

} // namespace kb::cli::client
