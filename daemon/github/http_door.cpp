#include "daemon/github/http_door.hpp"

#include "daemon/github/http_front.hpp"

#include "daemon/net/asio.hpp"
#include "daemon/net/peer.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace kb::daemon::github {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

// One client connection, on the Unix socket or the loopback port.
template <class Socket>
class HttpDoor::Connection : public std::enable_shared_from_this<Connection<Socket>> {
public:
  // `trusted`: the peer is our own user (the Unix socket checked it), so a request without a
  // token may use gh's stored login; on the loopback port anyone on the machine may connect.
  Connection(HttpDoor& door, Socket socket, bool trusted, std::shared_ptr<void> slot)
      : m_door(door), m_socket(std::move(socket)), m_trusted(trusted), m_slot(std::move(slot)),
        m_deadline(m_socket.get_executor()) {}

  void read() {
    m_parser.emplace();
    m_parser->body_limit(m_door.m_max_body);
    m_parser->header_limit(64 * 1024);
    // A kept-alive connection may idle first; either way the request must come in time.
    const auto& limits = m_door.m_limits;
    auto wait =
        m_served > 0 ? limits.idle_timeout + limits.request_timeout : limits.request_timeout;
    m_deadline.arm(wait, [weak = this->weak_from_this()] {
      if (auto self = weak.lock())
        self->close();
    });
    http::async_read(
        m_socket, m_buffer, *m_parser,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

private:
  void on_read(beast::error_code ec) {
    m_deadline.cancel();
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec) {
      auto status = ec == http::error::body_limit ? http::status::payload_too_large
                                                  : http::status::bad_request;
      respond_error(status, "kodebase: bad HTTP request: " + ec.message());
      return;
    }
    auto& req = m_parser->get();
    ProxyRequest request = to_proxy_request(req);
    request.login_checked = !m_trusted;
    m_keep_alive = req.keep_alive();
    m_head = req.method() == http::verb::head;
    m_version = req.version();
    m_door.m_proxy.handle(std::move(request), [self = this->shared_from_this()](ProxyReply reply) {
      self->write(std::move(reply));
    });
  }

  void write(ProxyReply reply) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(m_version);
    res->result(static_cast<unsigned>(reply.status));
    for (const auto& [k, v] : reply.headers)
      res->insert(k, v);
    res->keep_alive(m_keep_alive);
    auto size = reply.body.size();
    if (!m_head)
      res->body() = std::move(reply.body);
    res->content_length(size);
    m_deadline.arm(m_door.m_limits.write_timeout, [weak = this->weak_from_this()] {
      if (auto self = weak.lock())
        self->close();
    });
    http::async_write(m_socket, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        self->m_deadline.cancel();
                        ++self->m_served;
                        if (ec || !self->m_keep_alive)
                          return self->close();
                        self->read();
                      });
  }

  void respond_error(http::status status, const std::string& message) {
    m_keep_alive = false;
    ProxyReply reply{static_cast<int>(status),
                     {{"Content-Type", "application/json; charset=utf-8"}},
                     nlohmann::json{{"message", message}}.dump()};
    write(std::move(reply));
  }

  void close() {
    beast::error_code ignored;
    m_socket.shutdown(Socket::shutdown_both, ignored);
    m_socket.close(ignored);
  }

  HttpDoor& m_door;
  Socket m_socket;
  bool m_trusted;
  std::shared_ptr<void> m_slot; // of the door's connections, given back with the connection
  Deadline m_deadline;
  size_t m_served = 0; // requests answered on this connection
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  bool m_keep_alive = false;
  bool m_head = false;
  unsigned m_version = 11;
};

HttpDoor::HttpDoor(asio::io_context& io, Proxy& proxy, size_t max_body, HttpLimits limits)
    : m_io(io), m_proxy(proxy), m_max_body(max_body), m_limits(limits), m_acceptor(io), m_tcp(io),
      m_retry(io), m_tcp_retry(io), m_unix_slots(4 * limits.max_connections),
      m_tcp_slots(limits.max_connections) {}

HttpDoor::~HttpDoor() {
  close();
}

util::Status HttpDoor::listen(const std::filesystem::path& socket) {
  KB_TRY(m_socket_file.listen(m_acceptor, socket));
  accept();
  return util::ok_status();
}

util::Status listen_tcp(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& at) {
  boost::system::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec)
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor.bind(at, ec);
  if (!ec)
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return util::make_error(util::ErrorKind::unavailable,
                            fmt::format("cannot listen on {}:{}: {}", at.address().to_string(),
                                        at.port(), ec.message()));
  return util::ok_status();
}

util::Status HttpDoor::listen_loopback(unsigned short port) {
  KB_TRY(listen_tcp(m_tcp, {asio::ip::address_v4::loopback(), port}));
  accept_loopback();
  return util::ok_status();
}

unsigned short HttpDoor::loopback_port() const {
  boost::system::error_code ec;
  return m_tcp.is_open() ? m_tcp.local_endpoint(ec).port() : 0;
}

void HttpDoor::close() {
  boost::system::error_code ignored;
  m_acceptor.close(ignored);
  m_tcp.close(ignored);
  m_socket_file.remove();
}

void HttpDoor::accept_loopback() {
  accept_loop(m_tcp, m_tcp_retry, [this](asio::ip::tcp::socket socket) {
    auto slot = m_tcp_slots.take();
    if (!slot)
      return; // over the cap: closed as the socket goes
    boost::system::error_code ec;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    std::make_shared<Connection<asio::ip::tcp::socket>>(*this, std::move(socket), false,
                                                        std::move(slot))
        ->read();
  });
}

void HttpDoor::accept() {
  accept_loop(m_acceptor, m_retry, [this](local::socket socket) {
    auto slot = m_unix_slots.take();
    if (slot && net::peer_is_us(socket.native_handle()))
      std::make_shared<Connection<local::socket>>(*this, std::move(socket), true, std::move(slot))
          ->read();
  });
}

} // namespace kb::daemon::github
