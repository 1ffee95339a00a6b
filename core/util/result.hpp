#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kb::util {

// What went wrong, in terms a caller can act on. The kind decides the CLI exit code and the
// JSON-RPC error code; it never changes meaning once released.
enum class ErrorKind {
  invalid_argument, // the caller asked for something malformed (usage error)
  not_found,        // a named thing does not exist
  failed,           // a domain rule refused the operation (validation, transition, readiness)
  conflict,         // the thing already exists or changed underneath us
  not_project,      // no project where one is needed
  io,               // the file system or another process failed us
  unavailable,      // a service (daemon, GitHub, Redis) cannot be reached
  internal,         // a bug
};

// A failure with a human message (what, where, what to do) and optional structured details.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  nlohmann::json details = nullptr;
};

inline Error make_error(ErrorKind kind, std::string message, nlohmann::json details = nullptr) {
  return Error{kind, std::move(message), std::move(details)};
}

// Either a value or an Error; the C++20 stand-in for std::expected.
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_state.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(m_state); }
  Error&& take_error() { return std::get<1>(std::move(m_state)); }

private:
  std::variant<T, Error> m_state;
};

// Result of an operation that yields nothing but may fail.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() {
  return Unit{};
}

// The early return for a Result or a Status: when `expr` (a name or a call) holds an error, the
// enclosing function returns it (its return type takes an Error); otherwise execution goes on.
//   auto doc = parse(text);
//   KB_TRY(doc);                       // if (!doc) return doc.error();
//   KB_TRY(write_file(path, text));    // if (auto st = write_file(...); !st) return st.error();
#define KB_TRY(expr)                                                                               \
  do {                                                                                             \
    if (auto&& kb_try_result_ = (expr); !kb_try_result_)                                           \
      return kb_try_result_.error();                                                               \
  } while (false)

// Stable lower_snake name of a kind, used in JSON and messages.
constexpr std::string_view to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::invalid_argument: return "invalid_argument";
  case ErrorKind::not_found: return "not_found";
  case ErrorKind::failed: return "failed";
  case ErrorKind::conflict: return "conflict";
  case ErrorKind::not_project: return "not_project";
  case ErrorKind::io: return "io";
  case ErrorKind::unavailable: return "unavailable";
  case ErrorKind::internal: return "internal";
  }
  return "internal";
}

// The kind named by `name`; internal for names this build does not know.
constexpr ErrorKind error_kind_from_string(std::string_view name) {
  for (auto k :
       {ErrorKind::invalid_argument, ErrorKind::not_found, ErrorKind::failed, ErrorKind::conflict,
        ErrorKind::not_project, ErrorKind::io, ErrorKind::unavailable})
    if (to_string(k) == name)
      return k;
  return ErrorKind::internal;
}

} // namespace kb::util
