// The HTTP front of github.sock: bytes from a client through Beast's request parser (with the
// daemon's limits) and into the proxy's view of the request. Whatever arrives, parsing must end
// in an error or a request whose target is a path below the API root.
#include "daemon/github/http_front.hpp"
#include "daemon/net/asio.hpp"

#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <cstdlib>

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Fed in two pieces, as a socket may deliver it.
  size_t half = size / 2;
  size_t used = parser.put(boost::asio::buffer(input.data(), half), ec);
  if (ec == http::error::need_more)
    ec = {};
  if (!ec) {
    std::string rest(input.substr(used));
    parser.put(boost::asio::buffer(rest), ec);
  }
  if (ec || !parser.is_done())
    return 0;
  auto request = kb::daemon::github::to_proxy_request(parser.get());
  if (request.target.empty() || request.target[0] != '/')
    std::abort();
  if (request.method.empty())
    std::abort();
  for (const auto& [name, value] : request.headers)
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      std::abort(); // a field that could split a request upstream
  return 0;
}
