// The realtime relay's Redis connection, against a real redis-server started per test (ended
// by its pid), over a Unix socket, TCP and TLS.
#include "daemon/net/asio.hpp"
#include "daemon/realtime/claims.hpp"
#include "daemon/realtime/relay.hpp"
#include "daemon/realtime/resp.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <netinet/in.h>
#include <optional>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace fs = std::filesystem;
namespace rt = kb::daemon::realtime;
using namespace std::chrono_literals;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A redis-server of its own: a temporary directory, a Unix socket, optionally TCP/TLS ports.
struct RedisServer {
  fs::path dir;
  pid_t pid = -1;
  std::string socket;

  explicit RedisServer(std::vector<std::string> extra = {}) {
    dir = fs::temp_directory_path() / fmt::format("kb-redis-{}-{}", ::getpid(), counter()++);
    fs::create_directories(dir);
    socket = (dir / "r.sock").string();
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     "0",
                                     "--unixsocket",
                                     socket,
                                     "--unixsocketperm",
                                     "700",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--enable-debug-command",
                                     "local",
                                     "--dir",
                                     dir.string(),
                                     "--logfile",
                                     (dir / "log").string()};
    for (auto& e : extra)
      args.push_back(e);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) == 0);
    for (int i = 0; i < 300 && !fs::exists(socket); ++i) // up to 3 s
      std::this_thread::sleep_for(10ms);
    REQUIRE(fs::exists(socket));
  }
  ~RedisServer() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// Runs the loop until `done` or 10 s.
void run_until(boost::asio::io_context& io, const bool& done) {
  io.restart();
  for (int i = 0; i < 1000 && !done; ++i)
    io.run_for(10ms);
}

kb::util::Status connect(boost::asio::io_context& io, const std::shared_ptr<rt::Connection>& c) {
  bool done = false;
  kb::util::Status out = kb::util::ok_status();
  c->connect([&](kb::util::Status st) {
    out = std::move(st);
    done = true;
  });
  run_until(io, done);
  REQUIRE(done);
  return out;
}

kb::util::Result<rt::Reply> call(boost::asio::io_context& io,
                                 const std::shared_ptr<rt::Connection>& c,
                                 std::vector<std::string> args) {
  bool done = false;
  kb::util::Result<rt::Reply> out = rt::Reply{};
  c->command(std::move(args), [&](kb::util::Result<rt::Reply> r) {
    out = std::move(r);
    done = true;
  });
  run_until(io, done);
  REQUIRE(done);
  return out;
}

rt::ConnectOptions unix_options(const RedisServer& s) {
  rt::ConnectOptions o;
  o.url = *rt::parse_redis_url("unix://" + s.socket);
  o.timeout = 2000ms;
  return o;
}

} // namespace

TEST_CASE("Redis URLs are parsed, and shown without their password", "[redis]") {
  auto u = rt::parse_redis_url("rediss://team:p%40ss@cache.example.com:6380/2");
  REQUIRE(u);
  CHECK(u->kind == rt::RedisUrl::Kind::tls);
  CHECK(u->host == "cache.example.com");
  CHECK(u->port == 6380);
  CHECK(u->user == "team");
  CHECK(u->password == "p@ss");
  CHECK(u->db == 2);
  CHECK(u->redacted() == "rediss://team:***@cache.example.com:6380/2");
  auto plain = rt::parse_redis_url("redis://localhost");
  REQUIRE(plain);
  CHECK(plain->port == 6379);
  CHECK(plain->redacted() == "redis://localhost:6379");
  auto v6 = rt::parse_redis_url("redis://:secret@[::1]:7000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->password == "secret");
  auto sock = rt::parse_redis_url("unix:///run/redis/r.sock?db=3");
  REQUIRE(sock);
  CHECK(sock->path == "/run/redis/r.sock");
  CHECK(sock->db == 3);
  for (const char* bad : {"localhost:6379", "http://x", "redis://", "redis://h:0",
                          "redis://h:99999", "redis://h/x", "unix://relative", "unix:///s?x=1"}) {
    auto r = rt::parse_redis_url(bad);
    CHECK_FALSE(r);
    if (!r)
      CHECK(r.error().message.find("is not a Redis URL") != std::string::npos);
  }
}

TEST_CASE("replies are parsed as they complete; malformed input is refused", "[redis]") {
  rt::ReplyReader reader;
  REQUIRE(reader.feed("+OK\r\n:42\r\n*2\r\n$5\r\nhel"));
  auto first = reader.next();
  REQUIRE(first);
  REQUIRE(*first);
  CHECK((*first)->type == rt::Reply::Type::status);
  CHECK((**reader.next()).integer == 42);
  CHECK_FALSE(*reader.next()); // the array is not complete yet
  REQUIRE(reader.feed("lo\r\n$-1\r\n"));
  auto array = **reader.next();
  REQUIRE(array.elements.size() == 2);
  CHECK(array.elements[0].str == "hello");
  CHECK(array.elements[1].is_nil());
  rt::ReplyReader huge; // a header asking for a billion slots is refused, not allocated
  REQUIRE(huge.feed("*2\r\n*60000\r\n*1000000000\r\n"));
  CHECK_FALSE(huge.next());
  rt::ReplyReader big; // budgets are per reply: many fair-sized replies pass
  for (int i = 0; i < 3; ++i) {
    std::string reply = "*50000\r\n";
    for (int j = 0; j < 50000; ++j)
      reply += ":1\r\n";
    REQUIRE(big.feed(reply));
    auto r = big.next();
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->elements.size() == 50000);
  }
  rt::ReplyReader bad;
  (void)bad.feed("?what\r\n");
  CHECK_FALSE(bad.next());
  CHECK_FALSE(bad.feed("+OK\r\n")); // unusable afterwards
  std::string value("a\r\nb\0c", 6);
  std::vector<std::string> args = {"SET", "k", value};
  CHECK(rt::encode_command(args) ==
        std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n", 32));
}

TEST_CASE("commands are pipelined and answered in order; binary values survive", "[redis]") {
  RedisServer server;
  boost::asio::io_context io;
  auto c = rt::Connection::create(io, unix_options(server));
  REQUIRE(connect(io, c));
  std::string value("line\r\nbreak\0zero", 16);
  REQUIRE(call(io, c, {"SET", "k", value}));
  CHECK(call(io, c, {"GET", "k"})->str == value);
  std::vector<long long> seen;
  bool done = false;
  for (int i = 0; i < 200; ++i)
    c->command({"INCR", "n"}, [&, i](kb::util::Result<rt::Reply> r) {
      seen.push_back(r ? r->integer : -1);
      done = i == 199;
    });
  run_until(io, done);
  REQUIRE(seen.size() == 200);
  for (size_t i = 0; i < seen.size(); ++i)
    CHECK(seen[i] == static_cast<long long>(i + 1));
  auto error = call(io, c, {"NOSUCHCOMMAND"});
  REQUIRE(error);
  CHECK(error->is_error()); // a Redis error is an answer, and the connection goes on
  CHECK(call(io, c, {"PING"})->str == "PONG");
}

TEST_CASE("a subscribed connection is pushed the messages published", "[redis]") {
  RedisServer server;
  boost::asio::io_context io;
  auto sub = rt::Connection::create(io, unix_options(server));
  auto pub = rt::Connection::create(io, unix_options(server));
  REQUIRE(connect(io, sub));
  REQUIRE(connect(io, pub));
  std::vector<std::string> got;
  sub->on_push([&](const rt::Reply& r) {
    if (r.elements.size() == 3 && r.elements[0].str == "message")
      got.push_back(r.elements[1].str + "=" + r.elements[2].str);
  });
  auto confirmed = call(io, sub, {"SUBSCRIBE", "kodebase:{a/b}:ev", "other"});
  REQUIRE(confirmed);
  CHECK(confirmed->elements[0].str == "subscribe");
  CHECK(call(io, pub, {"PUBLISH", "kodebase:{a/b}:ev", "one"})->integer == 1);
  CHECK(call(io, pub, {"PUBLISH", "other", "two"})->integer == 1);
  auto pong = call(io, sub, {"PING"}); // answered in order between pushes
  REQUIRE(pong);
  bool done = false;
  boost::asio::steady_timer pause(io, 200ms);
  pause.async_wait([&](auto) { done = true; });
  run_until(io, done);
  CHECK(got == std::vector<std::string>{"kodebase:{a/b}:ev=one", "other=two"});
}

TEST_CASE("wrong credentials fail the connection; right ones and a database are used", "[redis]") {
  RedisServer server({"--requirepass", "s3cret"});
  boost::asio::io_context io;
  auto o = unix_options(server);
  o.url.password = "wrong";
  auto refused = connect(io, rt::Connection::create(io, o));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == kb::util::ErrorKind::failed);
  CHECK(refused.error().message.find("refused the credentials") != std::string::npos);
  CHECK(refused.error().message.find("wrong") == std::string::npos); // never shown
  o.url.password = "s3cret";
  o.url.db = 3;
  auto c = rt::Connection::create(io, o);
  REQUIRE(connect(io, c));
  REQUIRE(call(io, c, {"SET", "in3", "x"}));
  o.url.db = 0;
  auto c0 = rt::Connection::create(io, o);
  REQUIRE(connect(io, c0));
  CHECK(call(io, c0, {"GET", "in3"})->is_nil());
}

TEST_CASE("a reply later than the deadline closes the connection and says so", "[redis]") {
  RedisServer server;
  boost::asio::io_context io;
  auto o = unix_options(server);
  o.timeout = 200ms;
  auto c = rt::Connection::create(io, o);
  REQUIRE(connect(io, c));
  std::string closed_why;
  c->on_closed([&](const kb::util::Error& e) { closed_why = e.message; });
  auto r = call(io, c, {"DEBUG", "SLEEP", "1"});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "Redis did not answer DEBUG within 200 ms");
  bool done = false;
  boost::asio::steady_timer pause(io, 50ms);
  pause.async_wait([&](auto) { done = true; });
  run_until(io, done);
  CHECK(closed_why == r.error().message);
  CHECK_FALSE(c->open());
  CHECK_FALSE(call(io, c, {"PING"})); // a closed connection answers nothing
}

TEST_CASE("a server that goes away ends the connection", "[redis]") {
  auto server = std::make_unique<RedisServer>();
  boost::asio::io_context io;
  auto c = rt::Connection::create(io, unix_options(*server));
  REQUIRE(connect(io, c));
  bool closed = false;
  c->on_closed([&](const kb::util::Error&) { closed = true; });
  auto killer = rt::Connection::create(io, unix_options(*server));
  REQUIRE(connect(io, killer));
  CHECK(call(io, killer, {"CLIENT", "KILL", "TYPE", "normal"})->integer == 1); // not itself
  run_until(io, closed);
  CHECK(closed);
  server.reset();
  auto gone = connect(io, rt::Connection::create(io, unix_options(RedisServer())));
  CHECK(gone); // a new server is reachable again
}

TEST_CASE("TLS: the server's name is verified against a private CA", "[redis]") {
  auto dir = fs::temp_directory_path() / fmt::format("kb-redis-tls-{}", ::getpid());
  fs::create_directories(dir);
  auto sh = [&](const std::string& cmd) {
    return std::system(fmt::format("cd '{}' && {} >/dev/null 2>&1", dir.string(), cmd).c_str());
  };
  REQUIRE(sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
             "-keyout ca.key -out ca.crt") == 0);
  REQUIRE(sh("openssl req -newkey rsa:2048 -nodes -subj /CN=redis.test -keyout server.key "
             "-out server.csr") == 0);
  REQUIRE(sh("printf 'subjectAltName=DNS:localhost\\n' > san.ext && openssl x509 -req -in "
             "server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext "
             "-out server.crt") == 0);
  int port = free_port();
  RedisServer server({"--tls-port", std::to_string(port), "--tls-cert-file",
                      (dir / "server.crt").string(), "--tls-key-file",
                      (dir / "server.key").string(), "--tls-ca-cert-file",
                      (dir / "ca.crt").string(), "--tls-auth-clients", "no"});
  std::this_thread::sleep_for(100ms);
  boost::asio::io_context io;
  rt::ConnectOptions o;
  o.timeout = 3000ms;
  o.ca_file = (dir / "ca.crt").string();
  o.url = *rt::parse_redis_url(fmt::format("rediss://localhost:{}", port));
  auto c = rt::Connection::create(io, o);
  REQUIRE(connect(io, c));
  CHECK(call(io, c, {"PING"})->str == "PONG");
  o.url =
      *rt::parse_redis_url(fmt::format("rediss://127.0.0.1:{}", port)); // not in the certificate
  auto wrong = connect(io, rt::Connection::create(io, o));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("TLS handshake") != std::string::npos);
  o.url = *rt::parse_redis_url(fmt::format("redis://localhost:{}", port)); // plaintext to TLS
  auto plain = rt::Connection::create(io, o);
  auto plain_status = connect(io, plain);
  if (plain_status) // the server only notices on the first command
    CHECK_FALSE(call(io, plain, {"PING"}));
  o.ca_file = (dir / "missing.pem").string();
  o.url = *rt::parse_redis_url(fmt::format("rediss://localhost:{}", port));
  auto no_ca = connect(io, rt::Connection::create(io, o));
  REQUIRE_FALSE(no_ca);
  CHECK(no_ca.error().message.find("cannot read the CA file") != std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

namespace {

// A daemon's side of a team: a link and its relay, on the test's loop.
struct Teammate {
  rt::Link link;
  rt::Relay relay;
  std::vector<nlohmann::json> got;

  Teammate(boost::asio::io_context& io, const RedisServer& s, const std::string& name)
      : link(io, [](const std::string&) {}),
        relay(
            link, rt::RelayOptions{s.dir / name, "0123456789abcdef0123456789abcdef"},
            [this](const std::string&, const nlohmann::json& e) { got.push_back(e); },
            [](const std::string&) {}) {
    link.on_live([this] { relay.on_live(); });
    link.on_push([this](const rt::Reply& p) { relay.on_push(p); });
    rt::LinkOptions o;
    o.url = "unix://" + s.socket;
    link.configure(o);
    relay.follow("acme/shop");
  }
  bool following() const {
    auto teams = relay.status()["teams"];
    return link.state() == rt::LinkState::live && !teams.empty() &&
           teams[0].value("subscribed", false) && !relay.catching_up();
  }
};

// Runs the loop until `ready()` or 10 s.
template <class Ready> bool run_until(boost::asio::io_context& io, Ready ready) {
  io.restart();
  for (int i = 0; i < 1000 && !ready(); ++i)
    io.run_for(10ms);
  return ready();
}

} // namespace

TEST_CASE("team relay: in order, forgeries dropped, a lost history reported and recovered",
          "[redis]") {
  RedisServer server;
  boost::asio::io_context io;
  Teammate a(io, server, "a"), b(io, server, "b");
  REQUIRE(run_until(io, [&] { return a.following() && b.following(); }));
  for (int n = 0; n < 3; ++n)
    a.relay.publish("acme/shop", {{"kind", "changed"}, {"id", "A.1.1"}, {"n", n}});
  REQUIRE(run_until(io, [&] { return b.got.size() == 3; }));
  for (int n = 0; n < 3; ++n)
    CHECK(b.got[static_cast<size_t>(n)].value("n", -1) == n);
  CHECK(a.got.empty()); // its own echoes are not delivered

  // A frame with the next sequence and no valid signature: dropped, and the next real one
  // still arrives.
  auto cmd = rt::Connection::create(io, unix_options(server));
  REQUIRE(connect(io, cmd));
  auto epoch = call(io, cmd, {"HGET", "kodebase:{acme/shop}:meta", "epoch"});
  REQUIRE(epoch);
  REQUIRE(call(io, cmd,
               {"PUBLISH", "kodebase:{acme/shop}:ev",
                epoch->str + ":4:{\"team\":\"acme/shop\",\"msg\":\"x\",\"sig\":\"00\",\"ts\":1}"}));
  a.relay.publish("acme/shop", {{"kind", "changed"}, {"id", "A.1.1"}, {"n", 3}});
  REQUIRE(run_until(io, [&] { return b.got.size() == 4; }));
  CHECK(b.got[3].value("n", -1) == 3);
  CHECK(b.relay.status().value("dropped", 0) == 1);

  // A genuine envelope sent again under the next sequence (a replay), and one too large: both
  // dropped, neither delivered.
  auto entry = call(io, cmd, {"XRANGE", "kodebase:{acme/shop}:log", "-", "+", "COUNT", "1"});
  REQUIRE(entry);
  REQUIRE(entry->elements.size() == 1);
  auto genuine = entry->elements[0].elements[1].elements[3].str; // fields e, <epoch>, p, <payload>
  REQUIRE(call(io, cmd, {"HINCRBY", "kodebase:{acme/shop}:meta", "seq", "1"}));
  REQUIRE(call(io, cmd, {"PUBLISH", "kodebase:{acme/shop}:ev", epoch->str + ":5:" + genuine}));
  REQUIRE(
      call(io, cmd, {"XADD", "kodebase:{acme/shop}:log", "5-0", "e", epoch->str, "p", genuine}));
  REQUIRE(call(io, cmd, {"HINCRBY", "kodebase:{acme/shop}:meta", "seq", "1"}));
  std::string huge = "{\"team\":\"acme/shop\",\"pad\":\"" + std::string(70000, 'x') + "\"}";
  REQUIRE(call(io, cmd, {"XADD", "kodebase:{acme/shop}:log", "6-0", "e", epoch->str, "p", huge}));
  REQUIRE(call(io, cmd, {"PUBLISH", "kodebase:{acme/shop}:ev", epoch->str + ":6:" + huge}));
  a.relay.publish("acme/shop", {{"kind", "changed"}, {"id", "A.1.1"}, {"n", 33}});
  REQUIRE(run_until(io, [&] { return b.got.size() == 5; }));
  CHECK(b.got[4].value("n", -1) == 33);
  CHECK(b.relay.status().value("dropped", 0) >= 3); // a copy read again from the stream counts too
  b.got.pop_back();

  // The server loses everything: the next update starts a new history, which is reported as
  // a resync, read from its start, and the catch-up ends.
  REQUIRE(call(io, cmd, {"FLUSHALL"}));
  a.relay.publish("acme/shop", {{"kind", "changed"}, {"id", "A.1.1"}, {"n", 4}});
  REQUIRE(run_until(io, [&] { return b.got.size() == 6 && b.following(); }));
  CHECK(b.got[4].value("kind", "") == "resync");
  CHECK(b.got[5].value("n", -1) == 4);
  a.relay.publish("acme/shop", {{"kind", "changed"}, {"id", "A.1.1"}, {"n", 5}});
  REQUIRE(run_until(io, [&] { return b.got.size() == 7; }));
  CHECK(b.got[6].value("n", -1) == 5);
  cmd->close();
}

TEST_CASE("teams are named by the origin remote or a configured id", "[redis]") {
  CHECK(rt::team_of_remote("https://github.com/Acme/Shop.git") == "acme/shop");
  CHECK(rt::team_of_remote("git@github.com:acme/shop.git") == "acme/shop");
  CHECK(rt::team_of_remote("ssh://git@ghe.example.com/prefix/acme/shop/") == "acme/shop");
  CHECK(rt::team_of_remote("/srv/git/shop.git").empty());
  CHECK(rt::team_of_id("Acme/Shop-2") == "acme/shop-2");
  CHECK(rt::team_of_id("a b").empty());
  CHECK(rt::team_of_id("evil}:x\n").empty());
  CHECK(rt::team_of_id("").empty());
}

TEST_CASE("claims: one holder at a time, fencing tokens grow, a lost lease is reported",
          "[redis]") {
  RedisServer server;
  boost::asio::io_context io;
  rt::Link link(io, [](const std::string&) {});
  rt::LinkOptions o;
  o.url = "unix://" + server.socket;
  link.configure(o);
  REQUIRE(run_until(io, [&] { return link.state() == rt::LinkState::live; }));
  std::vector<nlohmann::json> lost;
  auto on_lost = [&](const std::string&, const nlohmann::json& c) { lost.push_back(c); };
  rt::Claims ada(link, server.dir / "ada", "m1", on_lost, [](const std::string&) {});
  rt::Claims grace(link, server.dir / "grace", "m2", on_lost, [](const std::string&) {});
  const nlohmann::json ada_person{{"name", "Ada"}, {"email", "ada@example.com"}};
  const nlohmann::json grace_person{{"name", "Grace"}, {"email", "grace@example.com"}};
  auto ask = [&](auto f) {
    std::optional<kb::util::Result<nlohmann::json>> out;
    f([&](kb::util::Result<nlohmann::json> r) { out = std::move(r); });
    REQUIRE(run_until(io, [&] { return out.has_value(); }));
    return std::move(*out);
  };
  auto claim = [&](rt::Claims& c, const nlohmann::json& who, bool force) {
    return ask([&](auto done) { c.claim("acme/shop", "A.1.1", who, 60s, force, done); });
  };
  auto first = claim(ada, ada_person, false);
  REQUIRE(first);
  CHECK((*first)["taken"] == true);
  auto token = (*first)["claim"].value("token", 0LL);
  CHECK(token >= 1);
  auto refused = claim(grace, grace_person, false);
  REQUIRE(refused);
  CHECK((*refused)["taken"] == false);
  CHECK((*refused)["claim"].value("email", "") == "ada@example.com");
  auto again = claim(ada, ada_person, false); // the holder renews: same token
  REQUIRE(again);
  CHECK((*again)["renewed"] == true);
  CHECK((*again)["claim"].value("token", 0LL) == token);
  auto taken = claim(grace, grace_person, true);
  REQUIRE(taken);
  CHECK((*taken)["claim"].value("token", 0LL) > token);
  ada.on_live(); // renewing finds the token changed: the lease is lost, not stolen back
  REQUIRE(run_until(io, [&] { return !lost.empty(); }));
  CHECK(lost[0].value("id", "") == "A.1.1");
  CHECK(ada.held().empty());
  auto not_theirs =
      ask([&](auto done) { ada.release("acme/shop", "A.1.1", ada_person, false, done); });
  REQUIRE_FALSE(not_theirs);
  CHECK(not_theirs.error().kind == kb::util::ErrorKind::conflict);
  auto released =
      ask([&](auto done) { grace.release("acme/shop", "A.1.1", grace_person, false, done); });
  REQUIRE(released);
  CHECK((*released)["released"] == true);
  auto listed = ask([&](auto done) { grace.list("acme/shop", done); });
  REQUIRE(listed);
  CHECK(listed->empty());
}
