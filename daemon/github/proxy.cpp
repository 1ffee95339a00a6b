#include "daemon/github/proxy.hpp"
#include "daemon/github/proxy_rules.hpp"

#include "core/util/file.hpp"
#include "core/util/hmac.hpp"
#include "core/util/json.hpp"
#include "core/util/process.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fmt/format.h>

#include <array>
#include <deque>
#include <strings.h>

namespace kb::daemon::github {

using nlohmann::json;

// Identical GETs waiting for one upstream answer; the first caller is the one that asked.
struct Proxy::Flight {
  std::vector<Done> waiters;
};

namespace {

constexpr std::string_view k_public_api = "https://api.github.com";

// The host of an API address (`https://HOST/api/v3` → HOST).
std::string host_of(std::string_view url) {
  auto start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  auto end = url.find_first_of("/:", start);
  return std::string(url.substr(start, end == std::string_view::npos ? url.npos : end - start));
}

} // namespace

Proxy::Proxy(boost::asio::io_context& io, ProxyOptions options)
    : m_io(io), m_options(std::move(options)), m_upstream(io) {
  while (m_options.api_url.ends_with('/'))
    m_options.api_url.pop_back();
}

void Proxy::reconfigure(ProxyOptions options) {
  while (options.api_url.ends_with('/'))
    options.api_url.pop_back();
  if (options.api_url != m_options.api_url) {
    m_login_known = false; // gh's stored login is per host
    m_login.clear();
  }
  options.cache_file = m_options.cache_file; // the open cache stays where it is
  options.secret_file = m_options.secret_file;
  m_cache.set_max_bytes(options.cache_bytes);
  m_options = std::move(options);
}

Proxy::~Proxy() = default;

util::Status Proxy::open() {
  // The install's secret, kept in its file; a new one when there is none (or no file to keep
  // it in: partitions then live as long as the daemon).
  auto text = m_options.secret_file.empty() ? std::nullopt
                                            : std::optional(util::read_file(m_options.secret_file));
  if (text && *text && (*text)->size() >= 64) {
    m_secret = (*text)->substr(0, 64);
  } else {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
      return util::make_error(util::ErrorKind::internal, "no randomness for the cache secret");
    m_secret =
        util::to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!m_options.secret_file.empty()) {
      std::error_code ec;
      util::create_private_directories(m_options.secret_file.parent_path());
      KB_TRY(util::write_file_atomic(m_options.secret_file, m_secret + "\n", 0600));
    }
  }
  if (m_options.cache_file.empty())
    return util::ok_status();
  return m_cache.open(m_options.cache_file, m_options.cache_bytes);
}

std::string Proxy::partition_of(const std::string& token) const {
  // Another host's answers live in partitions of their own, even for the same token.
  bool public_api = m_options.api_url == k_public_api;
  if (token.empty())
    return public_api
               ? "anonymous"
               : "anonymous-" + util::hmac_sha256_hex(m_secret, m_options.api_url).substr(0, 8);
  // 64 bits: tells tokens apart, says nothing about them
  return util::hmac_sha256_hex(m_secret, public_api ? token : m_options.api_url + "\n" + token)
      .substr(0, 16);
}

std::chrono::seconds Proxy::fresh_window(const std::string& target) const {
  auto repo = repository_prefix(target);
  if (repo.empty())
    return m_options.fresh_default;
  std::string_view rest = std::string_view(target).substr(repo.size());
  if (rest.empty() || rest.starts_with("?"))
    return m_options.fresh_repository;
  if (rest.starts_with("/contents/") || rest.starts_with("/contents?"))
    return m_options.fresh_contents;
  if (rest.starts_with("/commits"))
    return m_options.fresh_commits;
  return m_options.fresh_default;
}

HttpRequest Proxy::upstream_request(const ProxyRequest& request, const std::string& token) const {
  HttpRequest out{request.method, m_options.api_url + request.target, {}, request.body};
  for (const auto& [k, v] : request.headers)
    if (!not_forwarded(k))
      out.headers.emplace_back(k, v);
  if (!token.empty())
    out.headers.emplace_back("Authorization", "token " + token);
  return out;
}

void Proxy::rewrite_links(Headers& headers) const {
  static const std::string k_public(k_public_api);
  if (m_options.api_url == k_public)
    return;
  for (auto& [k, v] : headers) {
    if (!util::ascii_iequals(k, "Link") && !util::ascii_iequals(k, "Location"))
      continue;
    for (size_t at = 0; (at = v.find(m_options.api_url, at)) != std::string::npos;) {
      v.replace(at, m_options.api_url.size(), k_public);
      at += k_public.size();
    }
  }
}

// A call upstream waiting for its partition's limits.
struct Proxy::Call {
  std::string partition, resource;
  bool mutation = false, search = false, background = false;
  bool has_stale = false; // a stored answer can stand in for a refusal
  HttpRequest request;
  std::function<void(HttpReply)> done;
  std::chrono::steady_clock::time_point deadline;
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool queued = false;
};

// One token's limits and figures.
struct Proxy::Budget {
  struct Quota {
    long long limit = -1, remaining = -1, reset = 0; // reset: unix seconds
  };
  PartitionFigures figures;
  std::map<std::string, Quota> quota; // by resource
  int in_flight = 0;
  std::deque<std::shared_ptr<Call>> queue; // waiting for a free slot
  std::chrono::steady_clock::time_point next_mutation{}, next_search{};
  std::chrono::steady_clock::time_point held_until{}; // GitHub asked us to back off
  int backoffs = 0;
};

Proxy::Budget& Proxy::budget(const std::string& partition) {
  auto& b = m_partitions[partition];
  if (!b)
    b = std::make_unique<Budget>();
  return *b;
}

void Proxy::note_rate(Budget& b, const std::string& resource, const Headers& headers) {
  auto remaining = header(headers, "X-RateLimit-Remaining");
  if (remaining.empty())
    return;
  auto named = header(headers, "X-RateLimit-Resource");
  auto which = named.empty() ? resource : named;
  auto number = [&](const char* name) -> long long {
    auto v = header(headers, name);
    return v.empty() ? -1 : std::atoll(v.c_str());
  };
  b.quota[which] = {number("X-RateLimit-Limit"), number("X-RateLimit-Remaining"),
                    number("X-RateLimit-Reset")};
  b.figures.rate[which] = {{"limit", number("X-RateLimit-Limit")},
                           {"remaining", number("X-RateLimit-Remaining")},
                           {"used", number("X-RateLimit-Used")},
                           {"reset", number("X-RateLimit-Reset")}};
}

void Proxy::learn(Budget& b, const std::string& resource, const HttpReply& reply) {
  note_rate(b, resource, reply.headers);
  // A GraphQL query may ask for its cost: `rateLimit { limit remaining resetAt }`.
  if (resource == "graphql" && reply.status == 200 &&
      reply.body.find("\"rateLimit\"") != std::string::npos) {
    auto doc = util::parse_json_bounded(reply.body, util::k_document_limits);
    const json* rl = nullptr;
    if (doc.is_object() && doc.contains("data") && doc["data"].is_object() &&
        doc["data"].contains("rateLimit") && doc["data"]["rateLimit"].is_object())
      rl = &doc["data"]["rateLimit"];
    if (rl && (*rl)["remaining"].is_number_integer()) {
      auto reset = util::parse_utc_lenient(rl->value("resetAt", ""));
      auto& q = b.quota["graphql"];
      q.remaining = (*rl)["remaining"].get<long long>();
      if ((*rl)["limit"].is_number_integer())
        q.limit = (*rl)["limit"].get<long long>();
      if (reset)
        q.reset = *reset;
      b.figures.rate["graphql"] = {{"limit", q.limit},
                                   {"remaining", q.remaining},
                                   {"used", q.limit - q.remaining},
                                   {"reset", q.reset}};
    }
  }
  if (!rate_limited(reply)) {
    if (reply.status > 0 && reply.status < 400)
      b.backoffs = 0;
    return;
  }
  auto now = std::chrono::steady_clock::now();
  auto retry_after = header(reply.headers, "Retry-After");
  if (!retry_after.empty()) {
    b.held_until =
        std::max(b.held_until, now + std::chrono::seconds(std::atoll(retry_after.c_str())));
  } else if (header(reply.headers, "X-RateLimit-Remaining") != "0") {
    // A secondary limit without a hint: a minute, doubling while it repeats (at most 16).
    b.held_until =
        std::max(b.held_until, now + std::chrono::seconds(60) * (1 << std::min(b.backoffs, 4)));
    ++b.backoffs;
  }
  // The primary limit (remaining 0) is in the quota now: held until its reset.
}

HttpReply Proxy::refusal(const Budget& b, const std::string& resource, int status,
                         std::chrono::seconds retry_after, const std::string& why) const {
  HttpReply r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json; charset=utf-8"},
               {"Retry-After", std::to_string(std::max<long long>(1, retry_after.count()))}};
  if (auto q = b.quota.find(resource); q != b.quota.end()) {
    r.headers.emplace_back("X-RateLimit-Limit", std::to_string(q->second.limit));
    r.headers.emplace_back("X-RateLimit-Remaining", std::to_string(q->second.remaining));
    r.headers.emplace_back("X-RateLimit-Reset", std::to_string(q->second.reset));
    r.headers.emplace_back("X-RateLimit-Resource", resource);
  }
  r.body = json{{"message", why},
                {"documentation_url", "https://docs.github.com/rest/using-the-rest-api/"
                                      "rate-limits-for-the-rest-api"}}
               .dump();
  r.error = "refused"; // a local answer: GitHub was not asked
  return r;
}

void Proxy::finish(Call& call, HttpReply reply) {
  // Moved out first: the callback may hold what holds the call.
  auto done = std::move(call.done);
  call.done = nullptr;
  if (done)
    done(std::move(reply));
}

void Proxy::send(const std::shared_ptr<Call>& call) {
  auto& b = budget(call->partition);
  auto now = std::chrono::steady_clock::now();
  auto epoch = util::now_seconds();
  auto refuse = [&](int status, std::chrono::seconds after, const std::string& why) {
    ++b.figures.limited;
    finish(*call, refusal(b, call->resource, status, after, why));
  };
  auto wait_until = [&](std::chrono::steady_clock::time_point when) {
    call->timer = std::make_unique<boost::asio::steady_timer>(m_io, when);
    call->timer->async_wait([this, call](boost::system::error_code ec) {
      if (!ec)
        send(call);
    });
  };
  auto seconds_until = [](std::chrono::steady_clock::time_point t, auto from) {
    return std::chrono::ceil<std::chrono::seconds>(t - from);
  };
  if (auto q = b.quota.find(call->resource); q != b.quota.end() && q->second.reset > epoch) {
    const auto& quota = q->second;
    auto until_reset = std::chrono::seconds(quota.reset - epoch);
    if (quota.remaining == 0)
      return refuse(403, until_reset,
                    fmt::format("API rate limit exceeded for this token ({}); kodebase holds "
                                "requests until the reset",
                                call->resource));
    if (call->background && quota.remaining >= 0 && quota.remaining < m_options.reserve)
      return refuse(429, until_reset,
                    fmt::format("only {} requests left for this token ({}), kept for interactive "
                                "use until the reset",
                                quota.remaining, call->resource));
  }
  if (b.held_until > now) {
    if (call->has_stale || b.held_until > call->deadline)
      return refuse(429, seconds_until(b.held_until, now),
                    "GitHub asked this token to slow down (secondary rate limit); retry later");
    return wait_until(b.held_until);
  }
  auto spaced = call->mutation ? &b.next_mutation : call->search ? &b.next_search : nullptr;
  if (spaced && *spaced > now) {
    if (*spaced > call->deadline)
      return refuse(429, seconds_until(*spaced, now), "too many changes queued for this token");
    return wait_until(*spaced);
  }
  if (b.in_flight >= m_options.max_concurrent) {
    call->queued = true;
    b.queue.push_back(call);
    call->timer = std::make_unique<boost::asio::steady_timer>(m_io, call->deadline);
    call->timer->async_wait([this, call](boost::system::error_code ec) {
      if (ec || !call->queued)
        return;
      auto& bb = budget(call->partition);
      std::erase(bb.queue, call);
      call->queued = false;
      ++bb.figures.limited;
      finish(*call, refusal(bb, call->resource, 429, std::chrono::seconds(5),
                            "too many requests in flight for this token; retry shortly"));
    });
    return;
  }
  if (call->mutation)
    b.next_mutation = now + m_options.mutation_spacing;
  if (call->search)
    b.next_search = now + m_options.search_spacing;
  ++b.in_flight;
  m_upstream.fetch(call->request, [this, call](HttpReply reply) {
    auto& bb = budget(call->partition);
    --bb.in_flight;
    learn(bb, call->resource, reply);
    finish(*call, std::move(reply));
    pump(bb);
  });
}

void Proxy::pump(Budget& b) {
  while (b.in_flight < m_options.max_concurrent && !b.queue.empty()) {
    auto next = b.queue.front();
    b.queue.pop_front();
    next->queued = false;
    if (next->timer)
      next->timer->cancel();
    send(next);
  }
}

ProxyReply Proxy::reply_of(const Entry& entry, const std::string& mode) const {
  ProxyReply r{entry.status, entry.headers, entry.body};
  r.headers.emplace_back("Cache-Status", cache_status(mode));
  return r;
}

namespace {

ProxyReply unreachable(const std::string& why, std::string_view mode) {
  return {
      502,
      {{"Content-Type", "application/json; charset=utf-8"}, {"Cache-Status", cache_status(mode)}},
      json{{"message", "kodebase: cannot reach GitHub: " + why}}.dump()};
}

} // namespace

void Proxy::with_stored_login(std::function<void(const std::string&)> then) {
  auto now = std::chrono::steady_clock::now();
  if (m_login_known && now - m_login_at < std::chrono::minutes(5))
    return then(m_login);
  m_login_waiters.push_back(std::move(then));
  if (m_login_waiters.size() > 1)
    return; // asked already
  if (m_login_thread.joinable())
    m_login_thread.join();
  // `gh auth token` reads gh's keyring or hosts.yml; off the event loop, since it may take a
  // while. The answer is kept for five minutes and never written anywhere.
  auto login = m_options.login_command;
  if (!login.empty() && m_options.api_url != k_public_api)
    login.insert(login.end(), {"--hostname", host_of(m_options.api_url)});
  m_login_thread = std::jthread([this, command = std::move(login)] {
    std::string token;
    if (!command.empty()) {
      auto out = util::run_capture(command);
      if (out && out->exit_code == 0)
        token = out->out.substr(0, out->out.find_first_of("\r\n"));
    }
    boost::asio::post(m_io, [this, token] {
      m_login = token;
      m_login_known = true;
      m_login_at = std::chrono::steady_clock::now();
      for (auto& waiter : std::exchange(m_login_waiters, {}))
        waiter(m_login);
    });
  });
}

void Proxy::handle(ProxyRequest request, Done done) {
  if (m_options.refresh) {
    auto next = m_options;
    if (m_options.refresh(next))
      reconfigure(std::move(next));
  }
  // The token: the caller's Authorization, else the one it passed along (GH_TOKEN), else gh's
  // stored login, else none (60 requests an hour).
  std::string token = token_of(header(request.headers, "Authorization"));
  if (token.empty())
    token = request.token;
  if (token.empty() && !request.login_checked) {
    request.login_checked = true;
    return with_stored_login([this, request = std::move(request),
                              done = std::move(done)](const std::string& login) mutable {
      request.token = login;
      handle(std::move(request), std::move(done));
    });
  }
  auto partition = partition_of(token);
  if (token.empty())
    done = [done = std::move(done)](ProxyReply reply) {
      reply.anonymous = true;
      done(std::move(reply));
    };

  auto call = std::make_shared<Call>();
  call->partition = partition;
  call->resource = resource_of(request.target);
  call->mutation =
      request.method != "GET" && request.method != "HEAD" &&
      !(call->resource == "graphql" && request.body.find("mutation") == std::string::npos);
  call->search = call->resource == "search" || call->resource == "code_search";
  call->background =
      request.background || !header(request.headers, "X-Kodebase-Background").empty();
  call->deadline = std::chrono::steady_clock::now() + m_options.max_wait;
  call->request = upstream_request(request, token);

  auto cache_control = header(request.headers, "Cache-Control");
  // GraphQL is a POST: kept only when the caller names a time to live, and never a mutation.
  long long graphql_ttl = 0;
  if (request.method == "POST" && call->resource == "graphql" && !call->mutation)
    graphql_ttl = std::atoll(header(request.headers, "X-Kodebase-Cache-TTL").c_str());
  bool cacheable = (request.method == "GET" || request.method == "HEAD" || graphql_ttl > 0) &&
                   cache_control.find("no-store") == std::string::npos &&
                   header(request.headers, "If-None-Match").empty() &&
                   header(request.headers, "If-Modified-Since").empty();
  if (!cacheable)
    return pass_through(call, request.target, std::move(done));
  bool revalidate = cache_control.find("no-cache") != std::string::npos ||
                    cache_control.find("max-age=0") != std::string::npos;
  serve_cached(call, request, graphql_ttl, revalidate, std::move(done));
}

void Proxy::pass_through(const std::shared_ptr<Call>& call, const std::string& target, Done done) {
  auto partition = call->partition;
  ++budget(partition).figures.passed;
  call->done = [this, partition, mutation = call->mutation, target,
                done = std::move(done)](HttpReply up) {
    if (up.status == 0) {
      ++budget(partition).figures.errors;
      return done(unreachable(up.error, "bypass"));
    }
    bool local = up.error == "refused";
    // A change made through the proxy: what was read of that repository is due again.
    if (up.status < 400 && mutation)
      if (auto prefix = repository_prefix(target); !prefix.empty())
        m_cache.mark_stale(partition, prefix);
    std::erase_if(up.headers, [](const auto& kv) { return not_returned(kv.first); });
    rewrite_links(up.headers);
    up.headers.emplace_back("Cache-Status", cache_status(local ? "limited" : "bypass"));
    done({up.status, std::move(up.headers), std::move(up.body)});
  };
  send(call);
}

void Proxy::serve_cached(const std::shared_ptr<Call>& call, const ProxyRequest& request,
                         long long graphql_ttl, bool revalidate, Done done) {
  auto partition = call->partition;
  auto& figures = budget(partition).figures;
  auto key = sha256(fmt::format("{}\n{}\n{}\n{}\n{}\n{}", partition, request.method, request.target,
                                header(request.headers, "Accept"),
                                header(request.headers, "X-GitHub-Api-Version"),
                                graphql_ttl > 0 ? sha256(request.body) : std::string()));
  auto entry = m_cache.find(key);
  if (entry && !revalidate &&
      util::now_seconds() - entry->checked_at <
          (graphql_ttl > 0 ? graphql_ttl : fresh_window(request.target).count())) {
    ++figures.hits;
    return done(reply_of(*entry, "hit"));
  }
  if (auto it = m_flights.find(key); it != m_flights.end()) {
    ++figures.coalesced;
    it->second->waiters.push_back(std::move(done));
    return;
  }
  auto flight = std::make_unique<Flight>();
  flight->waiters.push_back(std::move(done));
  m_flights.emplace(key, std::move(flight));
  if (entry) {
    call->has_stale = true;
    if (!entry->etag.empty())
      call->request.headers.emplace_back("If-None-Match", entry->etag);
    else if (!entry->last_modified.empty())
      call->request.headers.emplace_back("If-Modified-Since", entry->last_modified);
  }
  call->done = [this, partition, key, target = request.target,
                entry = std::move(entry)](HttpReply up) mutable {
    store_answer(key, partition, target, std::move(entry), std::move(up));
  };
  send(call);
}

void Proxy::store_answer(const std::string& key, const std::string& partition,
                         const std::string& target, std::optional<Entry> entry, HttpReply up) {
  auto& counts = budget(partition).figures;
  bool limited = rate_limited(up);
  bool failed = up.status == 0 || up.status >= 500 || limited;
  if (entry && failed) {
    // GitHub is unreachable, failing or limiting us: the last good answer, marked stale.
    ++counts.stale;
    return settle(key, reply_of(*entry, "stale"));
  }
  if (up.status == 0) {
    ++counts.errors;
    return settle(key, unreachable(up.error, "miss"));
  }
  if (up.error == "refused") {
    std::erase_if(up.headers, [](const auto& kv) { return not_returned(kv.first); });
    up.headers.emplace_back("Cache-Status", cache_status("limited"));
    return settle(key, {up.status, std::move(up.headers), std::move(up.body)});
  }
  auto now = util::now_seconds();
  if (up.status == 304 && entry) {
    ++counts.revalidated;
    (void)m_cache.touch(key, now); // a failure is the cache's to count and log
    // The stored answer, with GitHub's current quota figures.
    for (const auto& [k, v] : up.headers)
      if (k.size() > 12 && util::ascii_iequals(std::string_view(k).substr(0, 12), "X-RateLimit-"))
        for (auto& [ek, ev] : entry->headers)
          if (util::ascii_iequals(ek, k))
            ev = v;
    return settle(key, reply_of(*entry, "revalidated"));
  }
  ++counts.misses;
  std::erase_if(up.headers, [](const auto& kv) { return not_returned(kv.first); });
  rewrite_links(up.headers);
  Entry fresh{key, partition, target, up.status, std::move(up.headers), std::move(up.body),
              "",  "",        now};
  fresh.etag = header(fresh.headers, "ETag");
  fresh.last_modified = header(fresh.headers, "Last-Modified");
  if (fresh.status < 400 && !limited)
    (void)m_cache.put(fresh); // errors are never stored: they cannot be revalidated
  settle(key, reply_of(fresh, "miss"));
}

void Proxy::settle(const std::string& key, ProxyReply reply) {
  auto it = m_flights.find(key);
  if (it == m_flights.end())
    return;
  auto flight = std::move(it->second);
  m_flights.erase(it);
  for (size_t i = 0; i < flight->waiters.size(); ++i) {
    ProxyReply copy = reply;
    if (i > 0)
      for (auto& [k, v] : copy.headers)
        if (k == "Cache-Status")
          v = cache_status("coalesced");
    flight->waiters[i](std::move(copy));
  }
}

json Proxy::status() {
  json partitions = json::array();
  auto sizes = m_cache.figures_by_partition();
  for (const auto& [name, b] : m_partitions) {
    const auto& f = b->figures;
    auto size = sizes[name];
    partitions.push_back({{"partition", name},
                          {"rate", f.rate},
                          {"hits", f.hits},
                          {"revalidated", f.revalidated},
                          {"misses", f.misses},
                          {"coalesced", f.coalesced},
                          {"stale", f.stale},
                          {"passed", f.passed},
                          {"errors", f.errors},
                          {"limited", f.limited},
                          {"in_flight", b->in_flight},
                          {"queued", b->queue.size()},
                          {"entries", size.entries},
                          {"bytes", size.bytes}});
  }
  return {{"api_url", m_options.api_url},
          {"reserve", m_options.reserve},
          {"max_concurrent", m_options.max_concurrent},
          {"in_flight", m_upstream.running()},
          {"partitions", partitions},
          {"cache", cache_stats()}};
}

json Proxy::cache_stats() {
  auto f = m_cache.figures();
  return {{"file", m_options.cache_file.string()},
          {"entries", f.entries},
          {"bytes", f.bytes},
          {"max_bytes", m_options.cache_bytes},
          {"failures", m_cache.failures()},
          {"last_failure",
           m_cache.last_failure().empty() ? json(nullptr) : json(m_cache.last_failure())}};
}

} // namespace kb::daemon::github
