#pragma once

#include "core/util/json.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

// JSON-RPC 2.0 messages as kodebase exchanges them: one compact JSON object per line.
namespace kb::protocol {

using nlohmann::json;

// Version of the kodebase protocol spoken over these messages.
inline constexpr int k_protocol_version = 1;

// Standard JSON-RPC 2.0 error codes.
inline constexpr int k_parse_error = -32700;
inline constexpr int k_invalid_request = -32600;
inline constexpr int k_method_not_found = -32601;
inline constexpr int k_invalid_params = -32602;
inline constexpr int k_internal_error = -32603;

struct Request {
  json id; // number or string; null only for replies to unparseable input
  std::string method;
  json params = json::object();
};

struct Notification {
  std::string method;
  json params = json::object();
};

struct ErrorObject {
  int code = k_internal_error;
  std::string message;
  json data = nullptr;
};

struct Response {
  json id;
  std::optional<json> result;       // set on success
  std::optional<ErrorObject> error; // set on failure
  // A successful result already written as compact JSON text (large, often-asked results are
  // assembled from cached pieces); when set, it is sent instead of `result`.
  std::string result_text = {};
};

// The result of a successful response as a JSON value, whichever form it carries.
json result_value(const Response& r);

using Message = std::variant<Request, Notification, Response>;

// What one message may hold: 64 levels of nesting, 200,000 values.
inline constexpr util::JsonLimits k_message_limits{64, 200000};

// Parses one framed message; a structured Error (kind invalid_argument) describes bad input,
// with details.code holding the JSON-RPC code to answer with. A message nested deeper or
// holding more values than k_message_limits is refused before it is parsed.
util::Result<Message> parse_message(std::string_view text);

// Checks the types of the params every door reads before any handler runs (directory, id,
// actor and agent are strings; dry_run, force and the like booleans; ttl_ms a whole number;
// topics and ids lists): a malformed one fails with kind invalid_argument naming it, so it
// gets an error reply instead of an exception deep inside.
util::Status check_param_types(const json& params);

// Compact JSON text of a message, without the trailing newline.
std::string serialize(const Request& r);
std::string serialize(const Notification& n);
std::string serialize(const Response& r);

// The JSON-RPC error code that carries an error of this kind.
int error_code(util::ErrorKind kind);

// A response that reports `error` for request `id`; data carries the kind and details.
Response error_response(const json& id, const util::Error& error);

// A response for a JSON-RPC level failure (parse error, unknown method…).
Response error_response(const json& id, int code, std::string message);

// The util::Error a failed response stands for (kind recovered from data.kind).
util::Error to_error(const ErrorObject& error);

} // namespace kb::protocol
