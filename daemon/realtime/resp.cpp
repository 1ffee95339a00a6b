#include "daemon/realtime/resp.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <deque>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <variant>

namespace kb::daemon::realtime {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol::socket;
using tls_stream = ssl::stream<tcp::socket>;

// ---- connection -----------------------------------------------------------------------------

struct Connection::Impl {
  asio::io_context& io;
  ConnectOptions options;
  ssl::context tls_context{ssl::context::tls_client};
  std::variant<std::monostate, tcp::socket, std::unique_ptr<tls_stream>, unix_socket> stream;
  tcp::resolver resolver{io};
  asio::steady_timer connect_timer{io};
  ReplyReader reader;
  std::array<char, 64 * 1024> buffer{};

  struct Pending {
    Callback done;
    std::chrono::steady_clock::time_point deadline;
    std::string name;
  };
  std::deque<Pending> pending;
  std::deque<std::string> outgoing;
  std::string sending; // the write in progress
  bool writing = false;
  bool is_open = false;
  bool closed = false;
  asio::steady_timer deadline_timer{io};
  bool deadline_armed = false;
  std::function<void(const Reply&)> push_handler;
  std::function<void(const util::Error&)> closed_handler;
  bool subscribed = false;

  Impl(asio::io_context& i, ConnectOptions o) : io(i), options(std::move(o)) {}

  template <typename F> void with_stream(F&& f) {
    std::visit(
        [&](auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, std::unique_ptr<tls_stream>>)
            f(*s);
          else if constexpr (!std::is_same_v<T, std::monostate>)
            f(s);
        },
        stream);
  }
};

std::shared_ptr<Connection> Connection::create(asio::io_context& io, ConnectOptions options) {
  return std::shared_ptr<Connection>(new Connection(io, std::move(options)));
}

Connection::Connection(asio::io_context& io, ConnectOptions options)
    : m(std::make_unique<Impl>(io, std::move(options))) {}

Connection::~Connection() {
  m->closed = true;
  boost::system::error_code ec;
  m->with_stream([&](auto& s) { s.lowest_layer().close(ec); });
}

namespace {

util::Error gone(std::string message) {
  return util::make_error(util::ErrorKind::unavailable, std::move(message));
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

} // namespace

bool Connection::open() const {
  return m->is_open && !m->closed;
}

void Connection::on_push(std::function<void(const Reply&)> handler) {
  m->push_handler = std::move(handler);
}

void Connection::on_closed(std::function<void(const util::Error&)> handler) {
  m->closed_handler = std::move(handler);
}

namespace {

// Ends everything: the socket, the timers and every pending command (each told `why`).
void fail_all(const std::shared_ptr<Connection>& self, Connection::Impl& m, const util::Error& why,
              bool notify) {
  if (m.closed)
    return;
  m.closed = true;
  m.is_open = false;
  boost::system::error_code ec;
  m.with_stream([&](auto& s) { s.lowest_layer().close(ec); });
  m.resolver.cancel();
  m.connect_timer.cancel();
  m.deadline_timer.cancel();
  auto pending = std::move(m.pending);
  m.pending.clear();
  m.outgoing.clear();
  for (auto& p : pending)
    if (p.done)
      asio::post(m.io, [done = std::move(p.done), why] { done(why); });
  if (notify && m.closed_handler)
    asio::post(m.io, [self, &m, why] {
      if (m.closed_handler)
        m.closed_handler(why);
    });
}

} // namespace

void Connection::close() {
  fail_all(shared_from_this(), *m, gone("the connection to Redis was closed"), false);
}

namespace {

void arm_deadline(const std::shared_ptr<Connection>& self, Connection::Impl& m);
void read_more(const std::shared_ptr<Connection>& self, Connection::Impl& m);
void write_next(const std::shared_ptr<Connection>& self, Connection::Impl& m);

} // namespace

namespace {

// One timer watches the oldest command's deadline. It is armed when a command is sent with
// none running, and when it fires early (that command was answered) it moves on to the next
// one's; answers themselves never touch it.
void arm_deadline(const std::shared_ptr<Connection>& self, Connection::Impl& m) {
  if (m.deadline_armed || m.pending.empty() || m.closed)
    return;
  m.deadline_armed = true;
  m.deadline_timer.expires_at(m.pending.front().deadline);
  m.deadline_timer.async_wait([self, &m](boost::system::error_code ec) {
    m.deadline_armed = false;
    if (ec || m.closed || m.pending.empty())
      return;
    if (std::chrono::steady_clock::now() < m.pending.front().deadline) {
      arm_deadline(self, m);
      return;
    }
    fail_all(self, m,
             gone(fmt::format("Redis did not answer {} within {} ms", m.pending.front().name,
                              m.options.timeout.count())),
             true);
  });
}

bool is_push(const Reply& r) {
  if (r.type != Reply::Type::array || r.elements.empty() ||
      r.elements[0].type != Reply::Type::string)
    return false;
  const auto& kind = r.elements[0].str;
  return kind == "message" || kind == "pmessage" || kind == "smessage";
}

void deliver(Connection::Impl& m, Reply reply, bool subscribed) {
  if ((subscribed && is_push(reply)) || m.pending.empty()) {
    if (m.push_handler)
      m.push_handler(reply);
    return;
  }
  auto done = std::move(m.pending.front().done);
  m.pending.pop_front();
  if (done)
    done(std::move(reply));
}

void read_more(const std::shared_ptr<Connection>& self, Connection::Impl& m) {
  m.with_stream([&](auto& s) {
    s.async_read_some(asio::buffer(m.buffer), [self, &m](boost::system::error_code ec, size_t n) {
      if (m.closed)
        return;
      if (ec) {
        fail_all(self, m,
                 gone(ec == asio::error::eof ? "Redis closed the connection"
                                             : "the connection to Redis failed: " + ec.message()),
                 true);
        return;
      }
      if (auto st = m.reader.feed(std::string_view(m.buffer.data(), n)); !st) {
        fail_all(self, m, st.error(), true);
        return;
      }
      for (;;) {
        auto reply = m.reader.next();
        if (!reply) {
          fail_all(self, m, reply.error(), true);
          return;
        }
        if (!*reply)
          break;
        deliver(m, std::move(**reply), m.subscribed);
        if (m.closed)
          return;
      }
      read_more(self, m);
    });
  });
}

void write_next(const std::shared_ptr<Connection>& self, Connection::Impl& m) {
  if (m.writing || m.outgoing.empty() || m.closed)
    return;
  m.writing = true;
  // Everything queued goes out in one write: a burst of commands costs one system call.
  m.sending.clear();
  for (auto& c : m.outgoing)
    m.sending += c;
  m.outgoing.clear();
  m.with_stream([&](auto& s) {
    asio::async_write(s, asio::buffer(m.sending), [self, &m](boost::system::error_code ec, size_t) {
      m.writing = false;
      if (m.closed)
        return;
      if (ec) {
        fail_all(self, m, gone("writing to Redis failed: " + ec.message()), true);
        return;
      }
      write_next(self, m);
    });
  });
}

} // namespace

void Connection::command(std::vector<std::string> args, Callback done) {
  if (m->closed || std::holds_alternative<std::monostate>(m->stream) || args.empty()) {
    asio::post(m->io, [done = std::move(done)] { done(gone("not connected to Redis")); });
    return;
  }
  std::string name = args[0];
  for (auto& c : name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto deadline = std::chrono::steady_clock::now() + m->options.timeout;
  m->pending.push_back({std::move(done), deadline, name});
  // A (un)subscription is confirmed once per channel.
  if (name == "SUBSCRIBE" || name == "UNSUBSCRIBE") {
    m->subscribed = true;
    for (size_t i = 2; i < args.size(); ++i)
      m->pending.push_back({nullptr, deadline, name});
  }
  m->outgoing.push_back(encode_command(args));
  auto self = shared_from_this();
  arm_deadline(self, *m);
  write_next(self, *m);
}

void Connection::connect(std::function<void(util::Status)> done) {
  auto self = shared_from_this();
  auto& st = *m;
  auto finish = std::make_shared<std::function<void(util::Status)>>(std::move(done));
  auto fail = [self, &st, finish](util::Error e) {
    fail_all(self, st, e, false);
    if (*finish)
      std::exchange(*finish, nullptr)(e);
  };
  st.connect_timer.expires_after(st.options.timeout);
  st.connect_timer.async_wait([self, &st, fail](boost::system::error_code ec) {
    if (!ec && !st.is_open)
      fail(gone(fmt::format("could not reach Redis at {} within {} ms", st.options.url.redacted(),
                            st.options.timeout.count())));
  });
  // After the transport: AUTH and SELECT, then ready.
  auto ready = [self, &st, finish, fail](boost::system::error_code ec, const std::string& what) {
    if (st.closed)
      return;
    if (ec) {
      fail(gone(fmt::format("cannot connect to Redis at {}: {}: {}", st.options.url.redacted(),
                            what, ec.message())));
      return;
    }
    read_more(self, st);
    auto selected = [self, &st, finish, fail] {
      auto select_done = [self, &st, finish, fail](util::Result<Reply> r) {
        if (!r)
          return fail(r.error());
        if (r->is_error())
          return fail(
              util::make_error(util::ErrorKind::failed, fmt::format("Redis refused SELECT {}: {}",
                                                                    st.options.url.db, r->str)));
        st.is_open = true;
        st.connect_timer.cancel();
        if (*finish)
          std::exchange(*finish, nullptr)(util::ok_status());
      };
      if (st.options.url.db == 0)
        return select_done(Reply{Reply::Type::status, "OK", 0, {}});
      self->command({"SELECT", std::to_string(st.options.url.db)}, select_done);
    };
    const auto& url = st.options.url;
    if (url.password.empty() && url.user.empty())
      return selected();
    std::vector<std::string> auth = {"AUTH"};
    if (!url.user.empty())
      auth.push_back(url.user);
    auth.push_back(url.password);
    self->command(auth, [&st, fail, selected](util::Result<Reply> r) {
      if (!r)
        return fail(r.error());
      if (r->is_error()) // the connection stays the default user's: never use it
        return fail(
            util::make_error(util::ErrorKind::failed,
                             fmt::format("Redis at {} refused the credentials: {}",
                                         st.options.url.redacted(), r->str),
                             {{"hint", "check the user and password in realtime.redis_url"}}));
      selected();
    });
  };
  const auto& url = st.options.url;
  if (url.kind == RedisUrl::Kind::unix_socket) {
    auto& s = st.stream.emplace<unix_socket>(st.io);
    s.async_connect(asio::local::stream_protocol::endpoint(url.path),
                    [ready](boost::system::error_code ec) { ready(ec, "connect"); });
    return;
  }
  if (url.kind == RedisUrl::Kind::tls) {
    boost::system::error_code ec;
    st.tls_context.set_default_verify_paths(ec);
    if (!st.options.ca_file.empty()) {
      st.tls_context.load_verify_file(st.options.ca_file, ec);
      if (ec)
        return fail(util::make_error(
            util::ErrorKind::invalid_argument,
            fmt::format("cannot read the CA file {}: {}", st.options.ca_file, ec.message()),
            {{"hint", "realtime.ca_file names a PEM file of trusted certificates"}}));
    }
    st.tls_context.set_verify_mode(ssl::verify_peer);
    auto& s = st.stream.emplace<std::unique_ptr<tls_stream>>(
        std::make_unique<tls_stream>(st.io, st.tls_context));
    if (!is_ip_literal(url.host)) // SNI names a host, never an address
      SSL_set_tlsext_host_name(s->native_handle(), url.host.c_str());
    s->set_verify_callback(ssl::host_name_verification(url.host));
  } else {
    st.stream.emplace<tcp::socket>(st.io);
  }
  st.resolver.async_resolve(
      url.host, std::to_string(url.port),
      [self, &st, ready](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (st.closed)
          return;
        if (ec)
          return ready(ec, "resolving " + st.options.url.host);
        auto connected = [self, &st, ready](boost::system::error_code connect_ec,
                                            const tcp::endpoint&) {
          if (connect_ec || st.closed)
            return ready(connect_ec, "connect");
          if (auto* tls = std::get_if<std::unique_ptr<tls_stream>>(&st.stream))
            (*tls)->async_handshake(ssl::stream_base::client,
                                    [ready](boost::system::error_code handshake_ec) {
                                      ready(handshake_ec, "TLS handshake");
                                    });
          else
            ready({}, "connect");
        };
        if (auto* tls = std::get_if<std::unique_ptr<tls_stream>>(&st.stream))
          asio::async_connect((*tls)->lowest_layer(), results, connected);
        else
          asio::async_connect(std::get<tcp::socket>(st.stream), results, connected);
      });
}

} // namespace kb::daemon::realtime
