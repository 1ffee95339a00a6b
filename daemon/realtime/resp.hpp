#pragma once

// A Redis connection on the daemon's Asio loop: TCP, TLS (SNI, hostname verification, an
// optional CA file) or a Unix socket; RESP2, replies parsed by hiredis's reader, commands
// encoded as arrays of bulk strings. Commands are pipelined and answered in order; every one
// has a deadline, and a missed deadline closes the connection (later replies could no longer
// be matched). On a subscribed connection, pushed messages go to the push handler.

#include "core/util/result.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kb::daemon::realtime {

// redis://[user[:password]@]host[:port][/db], rediss://… (TLS), unix:///path[?db=N].
struct RedisUrl {
  enum class Kind { tcp, tls, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;
  uint16_t port = 6379;
  std::string path; // unix
  std::string user;
  std::string password;
  int db = 0;

  // The URL without its password, for logs and replies.
  std::string redacted() const;
};

util::Result<RedisUrl> parse_redis_url(std::string_view text);

// One reply, copied out of hiredis's reader.
struct Reply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string str; // string, status, error
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
};

// A command as RESP: an array of bulk strings (binary-safe).
std::string encode_command(std::span<const std::string> args);

// Replies out of a byte stream, as they complete. Malformed input is an error, after which
// the reader is unusable (the connection must be dropped).
class ReplyReader {
public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  util::Status feed(std::string_view bytes);
  // The next complete reply, nullopt when more bytes are needed.
  util::Result<std::optional<Reply>> next();

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

struct ConnectOptions {
  RedisUrl url;
  std::string ca_file; // TLS: trusted CAs besides the system's ("" = system only)
  std::chrono::milliseconds timeout{5000}; // connecting, and each command's answer
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
  using Callback = std::function<void(util::Result<Reply>)>;

  static std::shared_ptr<Connection> create(boost::asio::io_context& io, ConnectOptions options);
  ~Connection();

  // Resolves, connects, does the TLS handshake, AUTH (a refusal is an error of kind failed:
  // never retry it unchanged) and SELECT. `done` is called once.
  void connect(std::function<void(util::Status)> done);
  // Sends a command; `done` gets its reply (a Redis error reply is a Reply, not an error) or
  // the reason there is none (closed, deadline).
  void command(std::vector<std::string> args, Callback done);
  // Messages a subscribed connection is pushed (["message", channel, payload]).
  void on_push(std::function<void(const Reply&)> handler);
  // Called once when the connection ends by itself (EOF, error, a missed deadline).
  void on_closed(std::function<void(const util::Error&)> handler);
  // Ends the connection; pending commands fail. on_closed is not called.
  void close();
  bool open() const;

  struct Impl; // the state, shared with the I/O handlers in resp.cpp

private:
  explicit Connection(boost::asio::io_context& io, ConnectOptions options);
  std::unique_ptr<Impl> m;
};

} // namespace kb::daemon::realtime
