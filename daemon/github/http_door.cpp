// clang-format off
#include <utility> // before Boost.Asio (GCC 12 with Boost 1.74)
// clang-format on
#include "daemon/github/http_door.hpp"

#include "daemon/github/http_front.hpp"

#include "daemon/server/peer.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace kb::daemon::github {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

class HttpDoor::Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(HttpDoor& door, local::socket socket) : m_door(door), m_socket(std::move(socket)) {}

  void read() {
    m_parser.emplace();
    m_parser->body_limit(m_door.m_max_body);
    m_parser->header_limit(64 * 1024);
    http::async_read(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

private:
  void on_read(beast::error_code ec) {
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
    m_keep_alive = req.keep_alive();
    m_head = req.method() == http::verb::head;
    m_version = req.version();
    m_door.m_proxy.handle(std::move(request), [self = shared_from_this()](ProxyReply reply) {
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
    http::async_write(m_socket, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
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
    m_socket.shutdown(local::socket::shutdown_both, ignored);
    m_socket.close(ignored);
  }

  HttpDoor& m_door;
  local::socket m_socket;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  bool m_keep_alive = false;
  bool m_head = false;
  unsigned m_version = 11;
};

HttpDoor::HttpDoor(asio::io_context& io, Proxy& proxy, size_t max_body)
    : m_io(io), m_proxy(proxy), m_max_body(max_body), m_acceptor(io) {}

HttpDoor::~HttpDoor() {
  close();
}

util::Status HttpDoor::listen(const std::filesystem::path& socket) {
  if (auto st = m_socket_file.listen(m_acceptor, socket); !st)
    return st;
  accept();
  return util::ok_status();
}

void HttpDoor::close() {
  boost::system::error_code ignored;
  m_acceptor.close(ignored);
  m_socket_file.remove();
}

void HttpDoor::accept() {
  m_acceptor.async_accept([this](boost::system::error_code ec, local::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted && m_acceptor.is_open())
        accept();
      return;
    }
    if (server::peer_is_us(socket.native_handle()))
      std::make_shared<Connection>(*this, std::move(socket))->read();
    accept();
  });
}

} // namespace kb::daemon::github
