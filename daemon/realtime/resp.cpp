#include "daemon/net/asio.hpp"
#include "daemon/realtime/resp_impl.hpp"

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

// ---- connection -----------------------------------------------------------------------------

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

namespace {

using Finish = std::shared_ptr<std::function<void(util::Status)>>;
using Fail = std::function<void(util::Error)>;

// The last step of a connect: SELECT the URL's database (nothing to do for 0); then the
// connection is open and `finish` hears so.
void select_database(const std::shared_ptr<Connection>& self, Connection::Impl& st, Finish finish,
                     Fail fail) {
  auto selected = [&st, finish, fail](util::Result<Reply> r) {
    if (!r)
      return fail(r.error());
    if (r->is_error())
      return fail(
          util::make_error(util::ErrorKind::failed,
                           fmt::format("Redis refused SELECT {}: {}", st.options.url.db, r->str)));
    st.is_open = true;
    st.connect_timer.cancel();
    if (*finish)
      std::exchange(*finish, nullptr)(util::ok_status());
  };
  if (st.options.url.db == 0)
    return selected(Reply{Reply::Type::status, "OK", 0, {}});
  self->command({"SELECT", std::to_string(st.options.url.db)}, selected);
}

// After the transport: AUTH with the URL's user and password (nothing to do without them). A
// refusal ends the connect: the connection stays the default user's and is never used.
void authenticate(const std::shared_ptr<Connection>& self, Connection::Impl& st, Finish finish,
                  Fail fail) {
  const auto& url = st.options.url;
  if (url.password.empty() && url.user.empty())
    return select_database(self, st, finish, fail);
  std::vector<std::string> auth = {"AUTH"};
  if (!url.user.empty())
    auth.push_back(url.user);
  auth.push_back(url.password);
  self->command(auth, [self, &st, finish, fail](util::Result<Reply> r) {
    if (!r)
      return fail(r.error());
    if (r->is_error())
      return fail(util::make_error(
          util::ErrorKind::failed,
          fmt::format("Redis at {} refused the credentials: {}", st.options.url.redacted(), r->str),
          {{"hint", "check the user and password in realtime.redis_url"}}));
    select_database(self, st, finish, fail);
  });
}

} // namespace

// A connect in steps: the transport (resp_transport.cpp), AUTH, SELECT; all within the
// options' timeout.
void Connection::connect(std::function<void(util::Status)> done) {
  auto self = shared_from_this();
  auto& st = *m;
  auto finish = std::make_shared<std::function<void(util::Status)>>(std::move(done));
  Fail fail = [self, &st, finish](util::Error e) {
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
  auto ready = [self, &st, finish, fail](boost::system::error_code ec, const std::string& step) {
    if (st.closed)
      return;
    if (ec)
      return fail(gone(fmt::format("cannot connect to Redis at {}: {}: {}",
                                   st.options.url.redacted(), step, ec.message())));
    read_more(self, st);
    authenticate(self, st, finish, fail);
  };
  switch (st.options.url.kind) {
  case RedisUrl::Kind::unix_socket: return open_unix_socket(st, ready);
  case RedisUrl::Kind::tls:
    if (auto prepared = prepare_tls(st); !prepared)
      return fail(prepared.error());
    return open_tcp(self, st, ready);
  default: return open_tcp(self, st, ready);
  }
}

} // namespace kb::daemon::realtime
