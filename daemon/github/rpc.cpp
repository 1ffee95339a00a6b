#include "daemon/github/rpc.hpp"

#include "daemon/github/http_front.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

namespace kb::daemon::github {

using nlohmann::json;

namespace {

util::Error invalid(std::string message) {
  return util::make_error(util::ErrorKind::invalid_argument, std::move(message));
}

} // namespace

util::Result<ProxyRequest> request_from_json(const json& p) {
  if (!p.is_object() || !p.contains("path") || !p["path"].is_string())
    return invalid("a GitHub request needs path, e.g. \"/repos/OWNER/NAME\"");
  ProxyRequest r;
  if (p.contains("method") && !p["method"].is_string())
    return invalid("method must be a string such as \"GET\"");
  r.method = p.value("method", "GET");
  std::transform(r.method.begin(), r.method.end(), r.method.begin(), ::toupper);
  if (r.method.empty() || r.method.find_first_of(" \r\n\t") != std::string::npos)
    return invalid("method `" + r.method + "` is not an HTTP method");
  r.target = api_path(p["path"].get<std::string>());
  if (r.target.find_first_of(" \r\n") != std::string::npos)
    return invalid("path must not contain spaces or line breaks (percent-encode them)");
  if (p.contains("headers")) {
    if (!p["headers"].is_object())
      return invalid("headers must be an object of strings");
    for (const auto& [k, v] : p["headers"].items()) {
      if (!v.is_string())
        return invalid("header " + k + " must be a string");
      auto value = v.get<std::string>();
      if (k.empty() || k.find_first_of(":\r\n ") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos)
        return invalid("header `" + k + "` is not a valid header field");
      r.headers.emplace_back(k, std::move(value));
    }
  }
  if (p.contains("body") && !p["body"].is_string())
    return invalid("body must be a string (JSON text for JSON bodies)");
  r.body = p.value("body", "");
  r.token = p.value("token", "");
  r.background = p.value("background", false);
  return r;
}

json reply_to_json(const ProxyReply& reply) {
  json headers = json::array();
  for (const auto& [k, v] : reply.headers)
    headers.push_back({k, v});
  json out{{"status", reply.status}, {"headers", headers}};
  if (reply.anonymous)
    out["anonymous"] = true;
  try {
    (void)json(reply.body).dump(); // throws on bytes that are not UTF-8
    out["body"] = reply.body;
  } catch (const json::exception&) {
    std::string encoded(4 * ((reply.body.size() + 2) / 3), '\0');
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                    reinterpret_cast<const unsigned char*>(reply.body.data()),
                    static_cast<int>(reply.body.size()));
    out["body_base64"] = encoded;
  }
  return out;
}

void run_batch(Proxy& proxy, const json& params, std::function<void(util::Result<json>)> done) {
  if (!params.is_object() || !params.contains("requests") || !params["requests"].is_array())
    return done(invalid("github.batch needs requests: a list of {method, path, headers, body}"));
  const auto& requests = params["requests"];
  if (requests.size() > k_max_batch)
    return done(invalid("a batch holds at most " + std::to_string(k_max_batch) + " requests, not " +
                        std::to_string(requests.size())));
  struct State {
    json results;
    size_t pending = 0;
    std::function<void(util::Result<json>)> done;
  };
  auto state = std::make_shared<State>();
  state->results = json::array();
  state->done = std::move(done);
  std::vector<std::pair<size_t, ProxyRequest>> ready;
  for (size_t i = 0; i < requests.size(); ++i) {
    json one = requests[i];
    if (one.is_object()) {
      if (!one.contains("token") && params.contains("token"))
        one["token"] = params["token"];
      if (!one.contains("background"))
        one["background"] = params.value("background", true);
    }
    auto r = request_from_json(one);
    if (r)
      ready.emplace_back(i, std::move(*r));
    state->results.push_back(r ? json(nullptr) : json{{"error", r.error().message}});
  }
  state->pending = ready.size();
  if (ready.empty())
    return state->done(json{{"results", state->results}});
  for (auto& [i, r] : ready)
    proxy.handle(std::move(r), [state, index = i](ProxyReply reply) {
      state->results[index] = reply_to_json(reply);
      if (--state->pending == 0)
        state->done(json{{"results", std::move(state->results)}});
    });
}

} // namespace kb::daemon::github
