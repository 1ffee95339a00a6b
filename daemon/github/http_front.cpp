#include "daemon/github/http_front.hpp"

namespace kb::daemon::github {

std::string api_path(std::string_view target) {
  // Absolute form: drop the scheme and host.
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && scheme < 8) {
    auto path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  // GitHub Enterprise's API root.
  if (target.starts_with("/api/v3/") || target == "/api/v3")
    target.remove_prefix(7);
  if (target == "/api/graphql")
    target = "/graphql";
  std::string out(target);
  if (out.empty() || out[0] != '/')
    out.insert(out.begin(), '/');
  return out;
}

ProxyRequest to_proxy_request(HttpRequestMessage& message) {
  ProxyRequest request;
  request.method = std::string(message.method_string());
  auto target = message.target();
  request.target = api_path(std::string_view(target.data(), target.size()));
  for (const auto& field : message)
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  request.body = std::move(message.body());
  return request;
}

} // namespace kb::daemon::github
