#pragma once

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

// Parses one framed message; a structured Error (kind invalid_argument) describes bad input,
// with details.code holding the JSON-RPC code to answer with.
util::Result<Message> parse_message(std::string_view text);

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
