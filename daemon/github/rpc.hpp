#pragma once

#include "core/util/result.hpp"
#include "daemon/github/proxy.hpp"

#include <nlohmann/json.hpp>

#include <functional>

// github.request and github.batch on daemon.sock: JSON-RPC params in, proxy answers out.
namespace kb::daemon::github {

// The largest github.batch.
inline constexpr size_t k_max_batch = 1000;

// A request object ({method, path, headers, body, token, background}) as a proxy request, or
// what is wrong with it.
util::Result<ProxyRequest> request_from_json(const nlohmann::json& params);

// A proxy answer as {status, headers: [[name, value]...], body} (body_base64 for bytes that
// are not UTF-8).
nlohmann::json reply_to_json(const ProxyReply& reply);

// github.batch: every request of params.requests through the proxy at once (its limits still
// apply), each settled on its own; `done` gets {results: [{status, headers, body} | {error}]}
// in the order asked. params.token and params.background (default true) apply to requests
// that do not say otherwise.
void run_batch(Proxy& proxy, const nlohmann::json& params,
               std::function<void(util::Result<nlohmann::json>)> done);

} // namespace kb::daemon::github
