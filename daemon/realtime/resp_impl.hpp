#pragma once

// The state of a Redis connection, shared by resp.cpp (commands, replies, the connect's
// session steps) and resp_transport.cpp (its transports): not for other modules.

#include "daemon/net/asio.hpp"
#include "daemon/realtime/resp.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <deque>
#include <functional>
#include <string>
#include <variant>

namespace kb::daemon::realtime {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol::socket;
using tls_stream = ssl::stream<tcp::socket>;

struct Connection::Impl {
  asio::io_context& io;
  ConnectOptions options;
  ssl::context tls_context{ssl::context::tls_client};
  std::variant<std::monostate, tcp::socket, std::unique_ptr<tls_stream>, unix_socket> stream;
  tcp::resolver resolver{io};
  asio::steady_timer connect_timer{io};
  ReplyReader reader;
  std::array<char, 64 * 1024> buffer{};

  struct Pending {
    Callback done;
    std::chrono::steady_clock::time_point deadline;
    std::string name;
  };
  std::deque<Pending> pending;
  std::deque<std::string> outgoing;
  std::string sending; // the write in progress
  bool writing = false;
  bool is_open = false;
  bool closed = false;
  asio::steady_timer deadline_timer{io};
  bool deadline_armed = false;
  std::function<void(const Reply&)> push_handler;
  std::function<void(const util::Error&)> closed_handler;
  bool subscribed = false;

  Impl(asio::io_context& i, ConnectOptions o) : io(i), options(std::move(o)) {}

  template <typename F> void with_stream(F&& f) {
    std::visit(
        [&](auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, std::unique_ptr<tls_stream>>)
            f(*s);
          else if constexpr (!std::is_same_v<T, std::monostate>)
            f(s);
        },
        stream);
  }
};

// The transport of a connection (resp_transport.cpp): a Unix socket, TCP, or TLS over TCP.
// `ready` gets the outcome (an error code, and the step it failed at); a TLS setup that cannot
// even start (an unreadable CA file) is returned instead.
using TransportReady = std::function<void(boost::system::error_code, const std::string& step)>;
void open_unix_socket(Connection::Impl& st, TransportReady ready);
util::Status prepare_tls(Connection::Impl& st);
void open_tcp(const std::shared_ptr<Connection>& self, Connection::Impl& st, TransportReady ready);
bool is_ip_literal(const std::string& host);

} // namespace kb::daemon::realtime
