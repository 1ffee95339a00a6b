#pragma once

#include "daemon/github/cache.hpp"
#include "daemon/github/upstream.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace kb::daemon::github {

struct ProxyOptions {
  std::string api_url = "https://api.github.com"; // GitHub Enterprise: https://HOST/api/v3
  std::filesystem::path cache_file;               // empty: memory only
  std::filesystem::path secret_file;              // the per-install HMAC key (0600)
  size_t cache_bytes = 256u << 20;
  // Seconds an answer is served without asking GitHub, by kind of resource.
  std::chrono::seconds fresh_contents{60}, fresh_commits{300}, fresh_repository{1800},
      fresh_default{60};
  // Rate-limit protection, per token. Below `reserve` remaining requests, background callers
  // (hooks, batches, --paginate) get cached or refused answers; interactive ones still pass.
  long long reserve = 200;
  int max_concurrent = 10; // upstream requests at once
  std::chrono::milliseconds mutation_spacing{1000}, search_spacing{2000};
  std::chrono::seconds max_wait{30}; // the longest a caller is held before an answer
  // Prints the stored login's token when a request brings none (empty: never asked); for
  // another host than api.github.com, `--hostname HOST` is added.
  std::vector<std::string> login_command{"gh", "auth", "token"};
  // Asked before each request: updates the options from the settings (a `config set` or an
  // edit of the settings file) and says whether they changed. Unset: they never change.
  std::function<bool(ProxyOptions&)> refresh;
};

// A request as any door hands it over: the path with its exact query, relative to the API
// root (`/repos/o/r?x=1`), and the caller's own fields (its Authorization among them).
struct ProxyRequest {
  std::string method = "GET";
  std::string target;
  Headers headers;
  std::string body;
  std::string token;          // used when the fields carry no Authorization (CLI: GH_TOKEN)
  bool background = false;    // a hook, a batch, a walk through pages: yields to the reserve
  bool login_checked = false; // gh's stored login was looked for already
};

struct ProxyReply {
  int status = 0;
  Headers headers; // Cache-Status included
  std::string body;
  bool anonymous = false; // sent without a token (60 requests an hour)
};

// Per token partition: what GitHub said of its quota, and what the cache saved it.
struct PartitionFigures {
  long long hits = 0, revalidated = 0, misses = 0, coalesced = 0, stale = 0, passed = 0, errors = 0,
            limited = 0;
  nlohmann::json rate = nlohmann::json::object(); // resource → {limit, remaining, reset, used}
};

// The GitHub proxy: every request of every door goes through here. GETs are answered from
// the cache while fresh, revalidated with If-None-Match / If-Modified-Since afterwards (a 304
// costs no quota), and coalesced when identical ones are in flight. Tokens are never stored:
// partitions are named by an HMAC of the token under a per-install secret.
//
// Each partition keeps GitHub's limits: no upstream call while its quota for a resource is
// spent (until the reset) or while GitHub asked it to back off (Retry-After, else 60 s doubling
// on repeated secondary-limit answers); at most `max_concurrent` calls at once, mutations and
// searches spaced. A caller waits at most `max_wait`; otherwise it gets the stored answer
// (marked stale) or a GitHub-shaped 403/429 with Retry-After.
class Proxy {
public:
  Proxy(boost::asio::io_context& io, ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  util::Status open();
  // Takes new settings: the API's address (requests, tokens and gh's stored login go to the
  // new host from the next request on; answers cached from another host are never served for
  // it), fresh windows and the cache's size.
  void reconfigure(ProxyOptions options);
  using Done = std::function<void(ProxyReply)>;
  void handle(ProxyRequest request, Done done);

  // What `github.status` reports: partitions, quotas, counters, cache figures.
  nlohmann::json status();
  size_t clear(const std::string& prefix) { return m_cache.clear(prefix); }
  // A repository (owner/name) changed elsewhere: its cached reads are due again, for everyone.
  void repository_changed(const std::string& owner_name) {
    m_cache.mark_stale_everywhere("/repos/" + owner_name);
  }
  size_t prune() { return m_cache.prune(); }
  nlohmann::json cache_stats();

  // Whether a request bringing `token` goes out with one: it is not empty, or gh has a stored
  // login (`then` runs on the event loop).
  void has_credentials(const std::string& token, std::function<void(bool)> then) {
    if (!token.empty())
      return then(true);
    with_stored_login([then = std::move(then)](const std::string& login) { then(!login.empty()); });
  }

  // The partition name of `token` (short, not reversible without the secret).
  std::string partition_of(const std::string& token) const;

private:
  struct Flight;
  struct Call;
  struct Budget;
  // Sends `call` upstream when the partition's limits allow: now, after a wait, or never (a
  // local refusal, status 403/429 with `refused` set).
  void send(const std::shared_ptr<Call>& call);
  // Hands the call's answer to its caller, once.
  void finish(Call& call, HttpReply reply);
  void pump(Budget& budget);
  void learn(Budget& budget, const std::string& resource, const HttpReply& reply);
  HttpReply refusal(const Budget& budget, const std::string& resource, int status,
                    std::chrono::seconds retry_after, const std::string& why) const;
  std::chrono::seconds fresh_window(const std::string& path) const;
  // Answers every caller waiting for `key`: the first as `reply` says, the rest as coalesced.
  void settle(const std::string& key, ProxyReply reply);
  // The steps of handle(): a request that is never cached goes straight up (a mutation makes
  // what was read of its repository due); a cacheable one is answered from the cache, joins a
  // request in flight, or goes up with its validators, and its answer is stored.
  void pass_through(const std::shared_ptr<Call>& call, const std::string& target, Done done);
  void serve_cached(const std::shared_ptr<Call>& call, const ProxyRequest& request,
                    long long graphql_ttl, bool revalidate, Done done);
  void store_answer(const std::string& key, const std::string& partition, const std::string& target,
                    std::optional<Entry> entry, HttpReply up);
  void note_rate(Budget& budget, const std::string& resource, const Headers& headers);
  ProxyReply reply_of(const Entry& entry, const std::string& cache_status) const;
  HttpRequest upstream_request(const ProxyRequest& request, const std::string& token) const;
  // GitHub's absolute URLs in Link and Location, rewritten from the configured upstream to
  // api.github.com's form, so clients follow them through the proxy.
  void rewrite_links(Headers& headers) const;

  // Runs `then` with gh's stored login token (empty when there is none), asking gh at most
  // every five minutes.
  void with_stored_login(std::function<void(const std::string&)> then);

  boost::asio::io_context& m_io;
  ProxyOptions m_options;
  std::string m_login;
  bool m_login_known = false;
  std::chrono::steady_clock::time_point m_login_at;
  std::vector<std::function<void(const std::string&)>> m_login_waiters;
  Upstream m_upstream;
  Cache m_cache;
  std::string m_secret;
  std::map<std::string, std::unique_ptr<Budget>> m_partitions;
  Budget& budget(const std::string& partition);
  std::map<std::string, std::unique_ptr<Flight>> m_flights; // identical GETs in flight
  std::jthread m_login_thread; // last: joined before anything it posts about goes away
};

} // namespace kb::daemon::github
