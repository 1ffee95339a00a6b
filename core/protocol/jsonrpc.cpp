#include "core/protocol/jsonrpc.hpp"

#include "core/util/json.hpp"

namespace kb::protocol {

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

util::Error bad_message(int code, std::string message) {
  return util::make_error(util::ErrorKind::invalid_argument, std::move(message),
                          json{{"code", code}});
}

bool valid_id(const json& id) {
  return id.is_number_integer() || id.is_string() || id.is_null();
}

util::Result<ErrorObject> parse_error_object(const json& e) {
  if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer() ||
      !e.contains("message") || !e["message"].is_string())
    return bad_message(k_invalid_request, "error object needs an integer code and a message");
  ErrorObject out{e["code"].get<int>(), e["message"].get<std::string>(), nullptr};
  if (auto it = e.find("data"); it != e.end())
    out.data = *it;
  return out;
}

} // namespace

util::Result<Message> parse_message(std::string_view text) {
  // Bounded before parsing: one deep or value-packed frame must not exhaust the stack or
  // multiply its size in memory.
  if (auto beyond = util::json_beyond_limits(text, k_message_limits))
    return bad_message(k_invalid_request, "message is too complex: " + *beyond);
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded())
    return bad_message(k_parse_error, "message is not valid JSON");
  if (!j.is_object())
    return bad_message(k_invalid_request, "message must be a JSON object");
  if (auto v = j.find("jsonrpc"); v == j.end() || !v->is_string() || *v != "2.0")
    return bad_message(k_invalid_request, "message must have \"jsonrpc\": \"2.0\"");
  auto id = j.find("id");
  if (id != j.end() && !valid_id(*id))
    return bad_message(k_invalid_request, "id must be a number, a string or null");
  if (auto m = j.find("method"); m != j.end()) {
    if (!m->is_string())
      return bad_message(k_invalid_request, "method must be a string");
    json params = json::object();
    if (auto p = j.find("params"); p != j.end()) {
      if (!p->is_object() && !p->is_array())
        return bad_message(k_invalid_request, "params must be an object or an array");
      params = std::move(*p);
    }
    if (id == j.end())
      return Message{Notification{m->get<std::string>(), std::move(params)}};
    return Message{Request{*id, m->get<std::string>(), std::move(params)}};
  }
  if (id == j.end())
    return bad_message(k_invalid_request, "message has neither a method nor an id");
  Response r{*id, std::nullopt, std::nullopt};
  auto result = j.find("result");
  auto error = j.find("error");
  if ((result == j.end()) == (error == j.end()))
    return bad_message(k_invalid_request, "a response carries exactly one of result and error");
  if (result != j.end()) {
    r.result = std::move(*result); // large results are moved, never copied
  } else {
    auto e = parse_error_object(*error);
    if (!e)
      return e.take_error();
    r.error = std::move(*e);
  }
  return Message{std::move(r)};
}

util::Status check_param_types(const json& params) {
  if (params.is_array())
    return util::ok_status(); // positional params: each method checks its own
  if (!params.is_object())
    return util::make_error(util::ErrorKind::invalid_argument, "params must be an object");
  enum class Type { string, boolean, integer, array };
  static constexpr std::pair<std::string_view, Type> k_known[] = {
      {"directory", Type::string},   {"id", Type::string},       {"actor", Type::string},
      {"agent", Type::string},       {"token", Type::string},    {"key", Type::string},
      {"repo", Type::string},        {"url", Type::string},      {"ca_file", Type::string},
      {"secret_file", Type::string}, {"dry_run", Type::boolean}, {"force", Type::boolean},
      {"branch", Type::boolean},     {"commit", Type::boolean},  {"background", Type::boolean},
      {"ttl_ms", Type::integer},     {"topics", Type::array},    {"ids", Type::array}};
  for (const auto& [key, type] : k_known) {
    auto it = params.find(std::string(key));
    if (it == params.end())
      continue;
    bool ok = type == Type::string    ? it->is_string()
              : type == Type::boolean ? it->is_boolean()
              : type == Type::integer ? it->is_number_integer()
                                      : it->is_array();
    if (!ok)
      return util::make_error(util::ErrorKind::invalid_argument,
                              "params." + std::string(key) + " must be " +
                                  (type == Type::string    ? "a string"
                                   : type == Type::boolean ? "true or false"
                                   : type == Type::integer ? "a whole number"
                                                           : "a list"));
  }
  return util::ok_status();
}

std::string serialize(const Request& r) {
  return json{{"jsonrpc", "2.0"}, {"id", r.id}, {"method", r.method}, {"params", r.params}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

std::string serialize(const Notification& n) {
  return json{{"jsonrpc", "2.0"}, {"method", n.method}, {"params", n.params}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

std::string serialize(const Response& r) {
  // The envelope is written by hand so a large result is serialised in place, not copied
  // into a new document first.
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out.reserve(r.result_text.size() + 64); // room for the frame's newline too: no second copy
  out += dump(r.id);
  if (r.error) {
    json e{{"code", r.error->code}, {"message", r.error->message}};
    if (!r.error->data.is_null())
      e["data"] = r.error->data;
    out += R"(,"error":)" + dump(e);
  } else {
    out += R"(,"result":)";
    if (!r.result_text.empty())
      out += r.result_text;
    else
      out += r.result ? dump(*r.result) : std::string("null");
  }
  out += '}';
  return out;
}

json result_value(const Response& r) {
  if (!r.result_text.empty())
    return json::parse(r.result_text);
  return r.result.value_or(json());
}

int error_code(util::ErrorKind kind) {
  using util::ErrorKind;
  switch (kind) {
  case ErrorKind::invalid_argument: return k_invalid_params;
  case ErrorKind::not_found: return -32001;
  case ErrorKind::failed: return -32002;
  case ErrorKind::conflict: return -32003;
  case ErrorKind::not_project: return -32004;
  case ErrorKind::io: return -32005;
  case ErrorKind::unavailable: return -32006;
  case ErrorKind::internal: return k_internal_error;
  }
  return k_internal_error;
}

Response error_response(const json& id, const util::Error& error) {
  json data{{"kind", util::to_string(error.kind)}};
  if (!error.details.is_null())
    data["details"] = error.details;
  return Response{id, std::nullopt, ErrorObject{error_code(error.kind), error.message, data}};
}

Response error_response(const json& id, int code, std::string message) {
  return Response{id, std::nullopt, ErrorObject{code, std::move(message), nullptr}};
}

util::Error to_error(const ErrorObject& error) {
  util::ErrorKind kind = util::ErrorKind::internal;
  json details = nullptr;
  if (error.data.is_object()) {
    if (auto k = error.data.find("kind"); k != error.data.end() && k->is_string())
      kind = util::error_kind_from_string(k->get<std::string>());
    if (auto d = error.data.find("details"); d != error.data.end())
      details = *d;
  } else if (error.code == k_invalid_params) {
    kind = util::ErrorKind::invalid_argument;
  }
  return util::make_error(kind, error.message, std::move(details));
}

} // namespace kb::protocol
