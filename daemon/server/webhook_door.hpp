#pragma once

#include "core/util/result.hpp"
#include "daemon/github/http_guard.hpp"
#include "daemon/github/proxy.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <string>
#include <unordered_set>

// `kodebased --webhook-listen ADDR`: GitHub's webhook deliveries over HTTP. Each is checked
// against X-Hub-Signature-256 under the configured secret (constant time; anything else is a
// bare 401 and nothing more), bounded in size (413), and taken once per X-GitHub-Delivery
// (a redelivery is answered 200 and not acted on again). A push touching
// `.kodebase/artifacts/` publishes one team update per artifact file, with its title and states
// read through the GitHub proxy at the commits before and after; every push marks the
// repository's cached answers stale. A pull_request opened, ready for review or closed (merged)
// publishes a pull-request update tied to the artifact its branch is named by. `ping` is
// answered; other events get 202 and are ignored.
namespace kb::daemon::server {

struct WebhookOptions {
  std::string listen;               // "HOST:PORT", or "PORT" on the loopback ("" = off)
  std::string secret;               // the webhook's secret (required)
  std::size_t max_body = 25u << 20; // GitHub caps payloads at 25 MB
  std::string token;                // reads changed files with it (else gh's stored login)
  std::size_t fetch_limit = 50;     // artifact files read per push (the rest: ID only)
  std::size_t max_bodies_in_flight = 64u << 20; // bodies read at once, in bytes (more: 503)
  github::HttpLimits limits{128};               // connections and deadlines
};

class WebhookDoor {
public:
  // `publish(team, envelope)` shares an update with the team (owner/name, lower-cased).
  using Publish = std::function<void(const std::string& team, nlohmann::json envelope)>;
  using Logger = std::function<void(const std::string&)>;
  WebhookDoor(boost::asio::io_context& io, github::Proxy& proxy, WebhookOptions options,
              Publish publish, Logger log);
  ~WebhookDoor();

  util::Status listen();
  unsigned short port() const;
  void close();
  nlohmann::json status() const;

  // What a delivery gets back: the status and a JSON body ("" for none). Acting on it (reads,
  // publishing) goes on after the answer.
  struct Answer {
    int status = 200;
    std::string body;
    bool retry = false; // says Retry-After
  };
  Answer receive(const std::string& event, const std::string& delivery,
                 const std::string& signature, const std::string& body);

private:
  class Connection;
  void accept();
  // Reads the pushed artifact files (before and after) and publishes one update per file.
  void publish_push(const std::string& team, const std::string& repository, nlohmann::json base,
                    std::vector<nlohmann::json> files);
  // The file at `path` in commit `sha` through the proxy; `done` gets its text ("" when it
  // cannot be read).
  void read_file(const std::string& repository, const std::string& path, const std::string& sha,
                 std::function<void(std::string)> done);
  bool seen(const std::string& delivery); // remembers it; true when it came before

  boost::asio::io_context& m_io;
  github::Proxy& m_proxy;
  WebhookOptions m_options;
  Publish m_publish;
  Logger m_log;
  boost::asio::ip::tcp::acceptor m_acceptor;
  boost::asio::steady_timer m_retry; // accepting again after a failure
  github::ConnectionSlots m_slots;
  std::size_t m_body_bytes = 0;     // reserved by connections reading a body
  std::deque<std::string> m_recent; // delivery ids, oldest first (bounded)
  std::unordered_set<std::string> m_recent_set;
  long long m_accepted = 0, m_rejected = 0, m_duplicates = 0, m_ignored = 0, m_published = 0,
            m_malformed = 0;
};

// "HOST:PORT" or "PORT" as an endpoint (PORT alone: 127.0.0.1), or what is wrong with it.
util::Result<boost::asio::ip::tcp::endpoint> parse_listen_address(const std::string& text);

} // namespace kb::daemon::server
