#pragma once

#include "daemon/net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kb::daemon::github {

// Header fields in the order they came; names as sent (compared case-insensitively).
using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first field named `name` (any case), or empty.
std::string header(const Headers& headers, std::string_view name);
// Drops every field named `name` (any case).
void remove_header(Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string url; // absolute
  Headers headers;
  std::string body;
};

struct HttpReply {
  int status = 0; // 0: no reply (see error)
  Headers headers;
  std::string body;  // decoded: gzip and the like are undone
  std::string error; // why there is no reply (connection refused, timed out, …)
};

// HTTP requests to GitHub on the daemon's event loop: libcurl's multi interface driven by Asio
// (its sockets are watched by the loop, its timeouts are loop timers), so no thread waits per
// request. Connections are reused; HTTP/2 is used where the server offers it; compressed
// replies are asked for and decoded. Redirects are not followed: the caller sees them.
class Upstream {
public:
  explicit Upstream(boost::asio::io_context& io,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  using Done = std::function<void(HttpReply)>;
  // Sends `request`; `done` runs on the loop once the reply is complete (or failed). Requests
  // still running when the Upstream is destroyed are dropped without calling `done`.
  void fetch(HttpRequest request, Done done);
  // Requests in flight.
  size_t running() const { return m_transfers.size(); }

private:
  struct Socket;
  struct Transfer;
  static int on_socket(void* easy, int fd, int what, void* self, void* socket);
  static int on_timer(void* multi, long timeout_ms, void* self);
  void wait(const std::shared_ptr<Socket>& socket, bool for_write);
  void act(int fd, int events);
  void finish_done();

  boost::asio::io_context& m_io;
  std::chrono::milliseconds m_timeout;
  void* m_multi;
  boost::asio::steady_timer m_timer;
  std::map<int, std::shared_ptr<Socket>> m_sockets;
  std::map<void*, std::unique_ptr<Transfer>> m_transfers; // by easy handle
};

} // namespace kb::daemon::github
