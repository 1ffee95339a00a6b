#include "daemon/server/webhook_door.hpp"

#include "core/artifact/model.hpp"
#include "core/artifact/yaml.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/util/time.hpp"
#include "daemon/github/http_door.hpp"
#include "daemon/github/http_guard.hpp"
#include "daemon/github/webhook.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/realtime/relay.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <optional>

namespace kb::daemon::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr std::size_t k_remembered_deliveries = 10000;

// An artifact file's title and state, from its text ({} when it is not one).
json describe(const std::string& path, const std::string& text) {
  if (text.empty())
    return json::object();
  auto doc = artifact::parse_yaml(text);
  auto name = path.substr(path.rfind('/') + 1);
  auto id = artifact::ArtifactId::parse(github::artifact_id_of_file(name));
  if (!doc || !id)
    return json::object();
  auto a = artifact::artifact_from_document(*id, path, std::move(*doc));
  return {{"title", a.title}, {"state", lifecycle::state_name(a)}};
}

bool zero_sha(const std::string& sha) {
  return sha.empty() || std::all_of(sha.begin(), sha.end(), [](char c) { return c == '0'; });
}

} // namespace

util::Result<tcp::endpoint> parse_listen_address(const std::string& text) {
  std::string host = "127.0.0.1", port = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
  }
  unsigned short number = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  boost::system::error_code bad;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, bad);
  if (ec != std::errc() || ptr != port.data() + port.size() || port.empty() || bad)
    return util::make_error(
        util::ErrorKind::invalid_argument,
        fmt::format("--webhook-listen wants PORT or HOST:PORT (an IP address), not `{}`", text),
        {{"hint", "e.g. --webhook-listen 127.0.0.1:9000, with a reverse proxy in front for TLS"}});
  return tcp::endpoint(address, number);
}

// One delivery connection. The headers are read first: a request that cannot be a signed
// delivery (no well-formed X-Hub-Signature-256, a body over the cap) is answered before its
// body is read, and a body is read only while the door's budget of bodies in flight allows.
class WebhookDoor::Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(WebhookDoor& door, tcp::socket socket, std::shared_ptr<void> slot)
      : m_door(door), m_socket(std::move(socket)), m_slot(std::move(slot)),
        m_deadline(m_socket.get_executor()) {}

  void read() {
    m_parser.emplace();
    m_parser->body_limit(m_door.m_options.max_body);
    m_parser->header_limit(64 * 1024);
    const auto& limits = m_door.m_options.limits;
    arm(m_served > 0 ? limits.idle_timeout + limits.request_timeout : limits.request_timeout);
    http::async_read_header(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

private:
  void arm(std::chrono::steady_clock::duration after) {
    m_deadline.arm(after, [weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->close();
    });
  }

  // Answers what needs no body; otherwise reads it, within the budget.
  void on_header(beast::error_code ec) {
    if (ec)
      return on_error(ec);
    auto& req = m_parser->get();
    m_keep_alive = req.keep_alive();
    m_version = req.version();
    if (req.method() == http::verb::get && (req.target() == "/healthz" || req.target() == "/"))
      return write({200, json{{"ok", true}}.dump()});
    if (req.method() != http::verb::post)
      return write({405, json{{"message", "webhooks are POSTed"}}.dump()});
    auto length = m_parser->content_length();
    size_t want = length ? static_cast<size_t>(*length) : m_door.m_options.max_body;
    // Refused before the body is read: it is then drained unread, never buffered.
    m_unread = length ? want : m_door.m_options.max_body;
    if (!github::well_formed_signature(std::string(req["X-Hub-Signature-256"]))) {
      m_keep_alive = false;
      ++m_door.m_rejected;
      return write({401, ""});
    }
    if (want > m_door.m_options.max_body) {
      m_keep_alive = false;
      return write({413, json{{"message", "payload too large"}}.dump()});
    }
    if (m_door.m_body_bytes + want > m_door.m_options.max_bodies_in_flight) {
      m_keep_alive = false;
      return write(
          {503, json{{"message", "busy: too many deliveries at once; try again"}}.dump(), true});
    }
    m_unread = 0;
    m_reserved = want;
    m_door.m_body_bytes += want;
    http::async_read(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](beast::error_code e, size_t) { self->on_body(e); });
  }

  void on_body(beast::error_code ec) {
    m_deadline.cancel();
    if (ec) {
      release();
      return on_error(ec);
    }
    auto& req = m_parser->get();
    auto field = [&](const char* name) { return std::string(req[name]); };
    auto answer = m_door.receive(field("X-GitHub-Event"), field("X-GitHub-Delivery"),
                                 field("X-Hub-Signature-256"), req.body());
    m_parser.reset(); // the body's memory goes before the answer is written
    release();
    write(std::move(answer));
  }

  void on_error(beast::error_code ec) {
    m_deadline.cancel();
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    m_keep_alive = false;
    if (ec == http::error::body_limit)
      return write({413, json{{"message", "payload too large"}}.dump()});
    write({400, json{{"message", "bad HTTP request: " + ec.message()}}.dump()});
  }

  void release() { m_door.m_body_bytes -= std::exchange(m_reserved, 0); }

  void write(Answer answer) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(m_version);
    res->result(static_cast<unsigned>(answer.status));
    if (!answer.body.empty())
      res->set(http::field::content_type, "application/json");
    if (answer.retry)
      res->set(http::field::retry_after, "5");
    res->keep_alive(m_keep_alive);
    res->body() = std::move(answer.body);
    res->prepare_payload();
    arm(m_door.m_options.limits.write_timeout);
    http::async_write(m_socket, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        self->m_deadline.cancel();
                        ++self->m_served;
                        if (!ec && self->m_unread > 0)
                          return self->drain();
                        if (ec || !self->m_keep_alive)
                          return self->close();
                        self->read();
                      });
  }

  // Reads and drops the body of a refused request (so that its sender, which writes it all
  // before it reads the answer, gets the answer rather than a reset), within the deadline.
  void drain() {
    m_parser.reset();
    size_t buffered = std::min(m_buffer.size(), m_unread);
    m_buffer.consume(buffered);
    m_unread -= buffered;
    if (m_unread == 0)
      return close();
    if (!std::exchange(m_draining, true)) // one deadline for all of it
      arm(m_door.m_options.limits.request_timeout);
    m_socket.async_read_some(asio::buffer(m_sink),
                             [self = shared_from_this()](beast::error_code ec, size_t n) {
                               self->m_unread -= std::min(n, self->m_unread);
                               if (ec || self->m_unread == 0) {
                                 self->m_deadline.cancel();
                                 return self->close();
                               }
                               self->drain();
                             });
  }

  void close() {
    release();
    beast::error_code ignored;
    m_socket.shutdown(tcp::socket::shutdown_both, ignored);
    m_socket.close(ignored);
  }

  WebhookDoor& m_door;
  tcp::socket m_socket;
  std::shared_ptr<void> m_slot;
  github::Deadline m_deadline;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  size_t m_reserved = 0; // of the door's body budget
  size_t m_unread = 0;   // bytes of a refused body still to drop
  bool m_draining = false;
  std::array<char, 16 * 1024> m_sink{};
  size_t m_served = 0;
  bool m_keep_alive = false;
  unsigned m_version = 11;
};

WebhookDoor::WebhookDoor(asio::io_context& io, github::Proxy& proxy, WebhookOptions options,
                         Publish publish, Logger log)
    : m_io(io), m_proxy(proxy), m_options(std::move(options)), m_publish(std::move(publish)),
      m_log(std::move(log)), m_acceptor(io), m_retry(io),
      m_slots(m_options.limits.max_connections) {}

WebhookDoor::~WebhookDoor() {
  close();
}

util::Status WebhookDoor::listen() {
  auto at = parse_listen_address(m_options.listen);
  KB_TRY(at);
  if (auto st = github::listen_tcp(m_acceptor, *at); !st)
    return util::make_error(util::ErrorKind::unavailable, "webhooks: " + st.error().message);
  accept();
  return util::ok_status();
}

unsigned short WebhookDoor::port() const {
  boost::system::error_code ec;
  return m_acceptor.is_open() ? m_acceptor.local_endpoint(ec).port() : 0;
}

void WebhookDoor::close() {
  boost::system::error_code ignored;
  m_acceptor.close(ignored);
}

json WebhookDoor::status() const {
  return {{"listening", m_options.listen}, {"port", port()},
          {"accepted", m_accepted},        {"rejected", m_rejected},
          {"duplicates", m_duplicates},    {"ignored", m_ignored},
          {"malformed", m_malformed},      {"published", m_published},
          {"connections", m_slots.open()}, {"body_bytes_in_flight", m_body_bytes}};
}

void WebhookDoor::accept() {
  github::accept_loop(m_acceptor, m_retry, [this](tcp::socket socket) {
    auto slot = m_slots.take();
    if (!slot)
      return; // over the cap: closed as the socket goes
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(*this, std::move(socket), std::move(slot))->read();
  });
}

bool WebhookDoor::seen(const std::string& delivery) {
  if (delivery.empty())
    return false;
  if (!m_recent_set.insert(delivery).second)
    return true;
  m_recent.push_back(delivery);
  if (m_recent.size() > k_remembered_deliveries) {
    m_recent_set.erase(m_recent.front());
    m_recent.pop_front();
  }
  return false;
}

WebhookDoor::Answer WebhookDoor::receive(const std::string& event, const std::string& delivery,
                                         const std::string& signature, const std::string& body) {
  if (!github::webhook_signature_valid(m_options.secret, body, signature)) {
    ++m_rejected;
    return {401, ""};
  }
  auto meaning = github::parse_webhook(event, body);
  if (!meaning) {
    ++m_malformed;
    return {400, json{{"message", meaning.error().message}}.dump()};
  }
  if (seen(delivery)) {
    ++m_duplicates;
    return {200, json{{"duplicate", delivery}}.dump()};
  }
  auto& m = *meaning;
  if (m.event == "ping") {
    ++m_accepted;
    return {200, json{{"pong", m.zen}}.dump()};
  }
  auto team = realtime::team_of_id(m.repository);
  if ((m.event != "push" && m.event != "pull_request") || team.empty() ||
      (m.event == "pull_request" && m.pull_request.is_null())) {
    ++m_ignored;
    return {202, json{{"ignored", event}}.dump()};
  }
  ++m_accepted;
  auto now = util::format_utc(util::now_seconds());
  if (m.event == "pull_request") {
    auto envelope = m.pull_request;
    auto action = envelope.value("action", "");
    auto what = action == "closed" ? (envelope.value("merged", false) ? "merged" : "closed")
                : action == "ready_for_review" ? "ready for review"
                                               : action;
    envelope["time"] = now;
    envelope["source"] = "webhook";
    envelope["cause"] =
        fmt::format("pull request #{} {} by {}", envelope.value("number", 0LL), what, m.sender);
    // The merge shows in the cache at once for everyone reading this repository.
    m_proxy.repository_changed(team);
    ++m_published;
    m_publish(team, std::move(envelope));
    return {200, json{{"ok", true}, {"event", "pull_request"}}.dump()};
  }
  m_proxy.repository_changed(team); // (cached URLs are compared lower-cased)
  json base{
      {"source", "webhook"},
      {"branch", m.branch},
      {"commit", m.after},
      {"actor", m.sender},
      {"cause", fmt::format("push to {} by {}", m.branch.empty() ? "a tag" : m.branch, m.sender)},
      {"time", now}};
  std::vector<json> files;
  for (const auto& a : m.artifacts)
    files.push_back({{"id", a.id},
                     {"kind", a.change},
                     {"path", a.path},
                     {"before", zero_sha(m.before) ? "" : m.before},
                     {"after", m.after}});
  auto count = files.size();
  if (!files.empty())
    publish_push(team, m.repository, std::move(base), std::move(files));
  return {200, json{{"ok", true}, {"event", "push"}, {"artifacts", count}}.dump()};
}

void WebhookDoor::read_file(const std::string& repository, const std::string& path,
                            const std::string& sha, std::function<void(std::string)> done) {
  if (sha.empty())
    return done("");
  github::ProxyRequest r;
  r.target = fmt::format("/repos/{}/contents/{}?ref={}", repository, path, sha);
  r.headers = {{"Accept", "application/vnd.github.raw+json"}};
  r.token = m_options.token;
  r.background = true;
  m_proxy.handle(std::move(r), [done = std::move(done)](github::ProxyReply reply) {
    done(reply.status == 200 ? std::move(reply.body) : std::string());
  });
}

void WebhookDoor::publish_push(const std::string& team, const std::string& repository, json base,
                               std::vector<json> files) {
  // Every file's texts are read at once; the updates go out in path order when all are in.
  struct Pending {
    std::vector<json> envelopes;
    size_t left = 0;
  };
  auto pending = std::make_shared<Pending>();
  pending->envelopes.resize(files.size());
  auto finish = [this, team, pending] {
    if (--pending->left > 0)
      return;
    for (auto& e : pending->envelopes) {
      ++m_published;
      m_publish(team, std::move(e));
    }
  };
  pending->left = 1; // held until every read is asked for
  for (size_t i = 0; i < files.size(); ++i) {
    auto& f = files[i];
    json envelope = base;
    envelope["id"] = f["id"];
    envelope["kind"] = f["kind"];
    envelope["path"] = f["path"];
    envelope["old_state"] = nullptr;
    envelope["new_state"] = nullptr;
    envelope["title"] = "";
    pending->envelopes[i] = std::move(envelope);
    if (i >= m_options.fetch_limit)
      continue;
    auto path = f.value("path", "");
    auto kind = f.value("kind", "");
    auto fill = [pending, i, path, finish](const char* key) {
      return [pending, i, path, finish, key](std::string text) {
        auto d = describe(path, text);
        auto& e = pending->envelopes[i];
        if (d.contains("state")) {
          e[key] = d["state"];
          if (e.value("title", "").empty() || std::string_view(key) == "new_state")
            e["title"] = d["title"];
        }
        finish();
      };
    };
    if (kind != "created") {
      ++pending->left;
      read_file(repository, path, f.value("before", ""), fill("old_state"));
    }
    if (kind != "deleted") {
      ++pending->left;
      read_file(repository, path, f.value("after", ""), fill("new_state"));
    }
  }
  finish();
}

} // namespace kb::daemon::server
