// The transports of a Redis connection: a Unix socket, TCP, and TLS over TCP (the system's CAs
// or the given file, SNI for a host name, the certificate checked against it).
#include "daemon/realtime/resp_impl.hpp"

#include <boost/asio/connect.hpp>
#include <fmt/format.h>

namespace kb::daemon::realtime {

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

void open_unix_socket(Connection::Impl& st, TransportReady ready) {
  auto& s = st.stream.emplace<unix_socket>(st.io);
  s.async_connect(asio::local::stream_protocol::endpoint(st.options.url.path),
                  [ready](boost::system::error_code ec) { ready(ec, "connect"); });
}

util::Status prepare_tls(Connection::Impl& st) {
  const auto& url = st.options.url;
  boost::system::error_code ec;
  st.tls_context.set_default_verify_paths(ec);
  if (!st.options.ca_file.empty()) {
    st.tls_context.load_verify_file(st.options.ca_file, ec);
    if (ec)
      return util::make_error(
          util::ErrorKind::invalid_argument,
          fmt::format("cannot read the CA file {}: {}", st.options.ca_file, ec.message()),
          {{"hint", "realtime.ca_file names a PEM file of trusted certificates"}});
  }
  st.tls_context.set_verify_mode(ssl::verify_peer);
  auto& s = st.stream.emplace<std::unique_ptr<tls_stream>>(
      std::make_unique<tls_stream>(st.io, st.tls_context));
  if (!is_ip_literal(url.host)) // SNI names a host, never an address
    SSL_set_tlsext_host_name(s->native_handle(), url.host.c_str());
  s->set_verify_callback(ssl::host_name_verification(url.host));
  return util::ok_status();
}

void open_tcp(const std::shared_ptr<Connection>& self, Connection::Impl& st, TransportReady ready) {
  if (!std::holds_alternative<std::unique_ptr<tls_stream>>(st.stream))
    st.stream.emplace<tcp::socket>(st.io);
  const auto& url = st.options.url;
  st.resolver.async_resolve(
      url.host, std::to_string(url.port),
      [self, &st, ready](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (st.closed)
          return;
        if (ec)
          return ready(ec, "resolving " + st.options.url.host);
        auto connected = [&st, ready](boost::system::error_code connect_ec, const tcp::endpoint&) {
          if (connect_ec || st.closed)
            return ready(connect_ec, "connect");
          if (auto* tls = std::get_if<std::unique_ptr<tls_stream>>(&st.stream))
            (*tls)->async_handshake(ssl::stream_base::client,
                                    [ready](boost::system::error_code handshake_ec) {
                                      ready(handshake_ec, "TLS handshake");
                                    });
          else
            ready({}, "connect");
        };
        if (auto* tls = std::get_if<std::unique_ptr<tls_stream>>(&st.stream))
          asio::async_connect((*tls)->lowest_layer(), results, connected);
        else
          asio::async_connect(std::get<tcp::socket>(st.stream), results, connected);
      });
}

} // namespace kb::daemon::realtime
