// clang-format off
#include <utility> // before Boost.Asio (GCC 12 with Boost 1.74)
// clang-format on
#include "daemon/server/webhook_door.hpp"

#include "core/artifact/model.hpp"
#include "core/artifact/yaml.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/util/time.hpp"
#include "daemon/github/http_door.hpp"
#include "daemon/github/webhook.hpp"
#include "daemon/realtime/relay.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
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

class WebhookDoor::Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(WebhookDoor& door, tcp::socket socket) : m_door(door), m_socket(std::move(socket)) {}

  void read() {
    m_parser.emplace();
    m_parser->body_limit(m_door.m_options.max_body);
    m_parser->header_limit(64 * 1024);
    http::async_read(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec) {
      m_keep_alive = false;
      if (ec == http::error::body_limit)
        return write({413, json{{"message", "payload too large"}}.dump()});
      return write({400, json{{"message", "bad HTTP request: " + ec.message()}}.dump()});
    }
    auto& req = m_parser->get();
    m_keep_alive = req.keep_alive();
    m_version = req.version();
    if (req.method() == http::verb::get && (req.target() == "/healthz" || req.target() == "/"))
      return write({200, json{{"ok", true}}.dump()});
    if (req.method() != http::verb::post)
      return write({405, json{{"message", "webhooks are POSTed"}}.dump()});
    auto field = [&](const char* name) { return std::string(req[name]); };
    write(m_door.receive(field("X-GitHub-Event"), field("X-GitHub-Delivery"),
                         field("X-Hub-Signature-256"), req.body()));
  }

  void write(Answer answer) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(m_version);
    res->result(static_cast<unsigned>(answer.status));
    if (!answer.body.empty())
      res->set(http::field::content_type, "application/json");
    res->keep_alive(m_keep_alive);
    res->body() = std::move(answer.body);
    res->prepare_payload();
    http::async_write(m_socket, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !self->m_keep_alive)
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    m_socket.shutdown(tcp::socket::shutdown_both, ignored);
    m_socket.close(ignored);
  }

  WebhookDoor& m_door;
  tcp::socket m_socket;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  bool m_keep_alive = false;
  unsigned m_version = 11;
};

WebhookDoor::WebhookDoor(asio::io_context& io, github::Proxy& proxy, WebhookOptions options,
                         Publish publish, Logger log)
    : m_io(io), m_proxy(proxy), m_options(std::move(options)), m_publish(std::move(publish)),
      m_log(std::move(log)), m_acceptor(io) {}

WebhookDoor::~WebhookDoor() {
  close();
}

util::Status WebhookDoor::listen() {
  auto at = parse_listen_address(m_options.listen);
  if (!at)
    return at.error();
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
          {"malformed", m_malformed},      {"published", m_published}};
}

void WebhookDoor::accept() {
  m_acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted && m_acceptor.is_open())
        accept();
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(*this, std::move(socket))->read();
    accept();
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
