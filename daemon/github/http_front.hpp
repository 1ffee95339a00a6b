#pragma once

#include "daemon/github/proxy.hpp"
#include "daemon/net/asio.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

// The HTTP front of github.sock: what a parsed HTTP request means to the proxy. Kept apart
// from the socket code so that it can be fuzzed on its own.
namespace kb::daemon::github {

// The request target as the proxy wants it: the path and query below the API root. Accepts
// the origin form (`/repos/o/r`), the absolute form (`https://api.github.com/repos/o/r`) and
// GitHub Enterprise paths (`/api/v3/...`, `/api/graphql`). Always starts with '/'.
std::string api_path(std::string_view target);

using HttpRequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

// The proxy's view of a parsed request; the body is moved out of `message`.
ProxyRequest to_proxy_request(HttpRequestMessage& message);

} // namespace kb::daemon::github
