#pragma once

#include "core/util/result.hpp"
#include "daemon/github/http_guard.hpp"
#include "daemon/github/proxy.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/net/private_socket.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>

namespace kb::daemon::github {

// `github.sock`: the GitHub API as plain HTTP/1.1 on a Unix socket (0600, peer uid checked),
// for unmodified clients: `gh` with `http_unix_socket`, `curl --unix-socket`. Requests may use
// the origin form (`/repos/o/r`), the absolute form (`https://api.github.com/repos/o/r`) or
// GitHub Enterprise paths (`/api/v3/…`); keep-alive is honoured. Optionally also on a loopback
// TCP port, for tools that need a base URL; requests there must bring their own token. Both
// keep to HttpLimits (the Unix socket, which only our own user reaches, to four times the
// connections).
// Opens, binds (SO_REUSEADDR) and listens on `at`; the error names the address.
util::Status listen_tcp(boost::asio::ip::tcp::acceptor& acceptor,
                        const boost::asio::ip::tcp::endpoint& at);

class HttpDoor {
public:
  HttpDoor(boost::asio::io_context& io, Proxy& proxy, size_t max_body, HttpLimits limits = {});
  ~HttpDoor();

  util::Status listen(const std::filesystem::path& socket);
  // Also serves 127.0.0.1:`port` (0: any free port).
  util::Status listen_loopback(unsigned short port);
  unsigned short loopback_port() const; // 0 when not listening
  // Stops accepting and removes the socket (when it is still ours). Connections left are
  // dropped with the event loop.
  void close();

private:
  template <class Socket> class Connection;
  void accept();
  void accept_loopback();

  boost::asio::io_context& m_io;
  Proxy& m_proxy;
  size_t m_max_body;
  HttpLimits m_limits;
  boost::asio::local::stream_protocol::acceptor m_acceptor;
  net::PrivateSocket m_socket_file;
  boost::asio::ip::tcp::acceptor m_tcp;
  boost::asio::steady_timer m_retry, m_tcp_retry; // accepting again after a failure
  ConnectionSlots m_unix_slots, m_tcp_slots;
};

} // namespace kb::daemon::github
