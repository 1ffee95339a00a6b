// clang-format off
#include <utility> // before Boost.Asio (GCC 12 with Boost 1.74)
// clang-format on
#include "daemon/github/proxy.hpp"

#include "core/util/file.hpp"

#include <boost/asio/post.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fmt/format.h>

#include <array>
#include <strings.h>

namespace kb::daemon::github {

using nlohmann::json;

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned size = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &size, EVP_sha256(), nullptr);
  return hex(md.data(), size);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Fields that describe one connection, not the message: never forwarded either way.
bool hop_by_hop(std::string_view name) {
  for (std::string_view h : {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
                             "Proxy-Authenticate", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                             "Host", "Content-Length", "Accept-Encoding", "Content-Encoding"})
    if (iequals(name, h))
      return true;
  return false;
}

// The token of an Authorization value (`token X`, `Bearer X`), or empty.
std::string token_of(const std::string& authorization) {
  auto space = authorization.find(' ');
  return space == std::string::npos ? std::string() : authorization.substr(space + 1);
}

// `/repos/OWNER/NAME` of a path, or empty: what a mutation may have changed.
std::string repository_prefix(const std::string& target) {
  if (!target.starts_with("/repos/"))
    return {};
  size_t slash = target.find('/', 7);
  if (slash == std::string::npos)
    return {};
  size_t end = target.find_first_of("/?#", slash + 1);
  return target.substr(0, end == std::string::npos ? target.size() : end);
}

std::string cache_status(std::string_view mode) {
  if (mode == "hit")
    return "kodebase; hit; detail=hit";
  if (mode == "coalesced")
    return "kodebase; hit; detail=coalesced";
  if (mode == "revalidated")
    return "kodebase; fwd=stale; fwd-status=304; detail=revalidated";
  if (mode == "stale")
    return "kodebase; hit; fwd=stale; detail=stale";
  if (mode == "bypass")
    return "kodebase; fwd=bypass; detail=bypass";
  return fmt::format("kodebase; fwd=miss; detail={}", mode);
}

} // namespace

// Identical GETs waiting for one upstream answer; the first caller is the one that asked.
struct Proxy::Flight {
  std::vector<Done> waiters;
};

Proxy::Proxy(boost::asio::io_context& io, ProxyOptions options)
    : m_io(io), m_options(std::move(options)), m_upstream(io) {
  while (m_options.api_url.ends_with('/'))
    m_options.api_url.pop_back();
}

Proxy::~Proxy() = default;

util::Status Proxy::open() {
  if (!m_options.secret_file.empty()) {
    auto text = util::read_file(m_options.secret_file);
    if (text && text->size() >= 64) {
      m_secret = text->substr(0, 64);
    } else {
      std::array<unsigned char, 32> bytes{};
      if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return util::make_error(util::ErrorKind::internal, "no randomness for the cache secret");
      m_secret = hex(bytes.data(), bytes.size());
      std::error_code ec;
      std::filesystem::create_directories(m_options.secret_file.parent_path(), ec);
      if (auto st = util::write_file_atomic(m_options.secret_file, m_secret + "\n", 0600); !st)
        return st;
    }
  } else {
    std::array<unsigned char, 32> bytes{};
    RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
    m_secret = hex(bytes.data(), bytes.size());
  }
  if (m_options.cache_file.empty())
    return util::ok_status();
  return m_cache.open(m_options.cache_file, m_options.cache_bytes);
}

std::string Proxy::partition_of(const std::string& token) const {
  if (token.empty())
    return "anonymous";
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned size = 0;
  HMAC(EVP_sha256(), m_secret.data(), static_cast<int>(m_secret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), md.data(), &size);
  return hex(md.data(), 8); // 64 bits: tells tokens apart, says nothing about them
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
    if (!hop_by_hop(k) && !iequals(k, "Authorization") && !iequals(k, "Cache-Control") &&
        !std::string_view(k).starts_with("X-Kodebase-"))
      out.headers.emplace_back(k, v);
  if (!token.empty())
    out.headers.emplace_back("Authorization", "token " + token);
  return out;
}

void Proxy::rewrite_links(Headers& headers) const {
  static const std::string k_public = "https://api.github.com";
  if (m_options.api_url == k_public)
    return;
  for (auto& [k, v] : headers) {
    if (!iequals(k, "Link") && !iequals(k, "Location"))
      continue;
    for (size_t at = 0; (at = v.find(m_options.api_url, at)) != std::string::npos;) {
      v.replace(at, m_options.api_url.size(), k_public);
      at += k_public.size();
    }
  }
}

void Proxy::note_rate(PartitionFigures& figures, const Headers& headers) {
  auto remaining = header(headers, "X-RateLimit-Remaining");
  if (remaining.empty())
    return;
  auto resource = header(headers, "X-RateLimit-Resource");
  auto number = [&](const char* name) -> json {
    auto v = header(headers, name);
    return v.empty() ? json(nullptr) : json(std::atoll(v.c_str()));
  };
  figures.rate[resource.empty() ? "core" : resource] = {
      {"limit", number("X-RateLimit-Limit")},
      {"remaining", number("X-RateLimit-Remaining")},
      {"used", number("X-RateLimit-Used")},
      {"reset", number("X-RateLimit-Reset")}};
}

ProxyReply Proxy::reply_of(const Entry& entry, const std::string& mode) const {
  ProxyReply r{entry.status, entry.headers, entry.body};
  r.headers.emplace_back("Cache-Status", cache_status(mode));
  return r;
}

void Proxy::handle(ProxyRequest request, Done done) {
  // The token: the caller's Authorization, else the one it passed along (GH_TOKEN).
  std::string token = token_of(header(request.headers, "Authorization"));
  if (token.empty())
    token = request.token;
  request.token.clear();
  auto partition = partition_of(token);
  auto& figures = m_partitions[partition];

  auto cache_control = header(request.headers, "Cache-Control");
  bool cacheable = (request.method == "GET" || request.method == "HEAD") &&
                   cache_control.find("no-store") == std::string::npos &&
                   header(request.headers, "If-None-Match").empty() &&
                   header(request.headers, "If-Modified-Since").empty();
  if (!cacheable) {
    ++figures.passed;
    auto method = request.method;
    auto target = request.target;
    m_upstream.fetch(upstream_request(request, token), [this, partition, method, target,
                                                        done = std::move(done)](HttpReply up) {
      auto& counts = m_partitions[partition];
      note_rate(counts, up.headers);
      if (up.status == 0) {
        ++counts.errors;
        done({502,
              {{"Content-Type", "application/json; charset=utf-8"},
               {"Cache-Status", cache_status("bypass")}},
              json{{"message", "kodebase: cannot reach GitHub: " + up.error}}.dump()});
        return;
      }
      // A change made through the proxy: what was read of that repository is due again.
      if (up.status < 400 && method != "GET" && method != "HEAD")
        if (auto prefix = repository_prefix(target); !prefix.empty())
          m_cache.mark_stale(partition, prefix);
      std::erase_if(up.headers, [](const auto& kv) { return hop_by_hop(kv.first); });
      rewrite_links(up.headers);
      up.headers.emplace_back("Cache-Status", cache_status("bypass"));
      done({up.status, std::move(up.headers), std::move(up.body)});
    });
    return;
  }

  auto key = sha256(fmt::format("{}\n{}\n{}\n{}\n{}", partition, request.method, request.target,
                                header(request.headers, "Accept"),
                                header(request.headers, "X-GitHub-Api-Version")));
  auto entry = m_cache.find(key);
  bool revalidate = cache_control.find("no-cache") != std::string::npos ||
                    cache_control.find("max-age=0") != std::string::npos;
  if (entry && !revalidate &&
      now_seconds() - entry->checked_at < fresh_window(request.target).count()) {
    ++figures.hits;
    done(reply_of(*entry, "hit"));
    return;
  }
  if (auto it = m_flights.find(key); it != m_flights.end()) {
    ++figures.coalesced;
    it->second->waiters.push_back(std::move(done));
    return;
  }
  auto flight = std::make_unique<Flight>();
  flight->waiters.push_back(std::move(done));
  m_flights.emplace(key, std::move(flight));
  forward(key, partition, token, std::move(request), std::move(entry));
}

void Proxy::forward(const std::string& key, const std::string& partition, const std::string& token,
                    ProxyRequest request, std::optional<Entry> entry) {
  auto up_request = upstream_request(request, token);
  if (entry) {
    if (!entry->etag.empty())
      up_request.headers.emplace_back("If-None-Match", entry->etag);
    else if (!entry->last_modified.empty())
      up_request.headers.emplace_back("If-Modified-Since", entry->last_modified);
  }
  m_upstream.fetch(std::move(up_request), [this, key, partition, target = request.target,
                                           entry = std::move(entry)](HttpReply up) mutable {
    auto& figures = m_partitions[partition];
    note_rate(figures, up.headers);
    if (entry && (up.status == 0 || up.status >= 500)) {
      // GitHub is unreachable or failing: the last good answer, marked stale.
      ++figures.stale;
      settle(key, reply_of(*entry, "stale"));
      return;
    }
    if (up.status == 0) {
      ++figures.errors;
      settle(key, {502,
                   {{"Content-Type", "application/json; charset=utf-8"},
                    {"Cache-Status", cache_status("miss")}},
                   json{{"message", "kodebase: cannot reach GitHub: " + up.error}}.dump()});
      return;
    }
    auto now = now_seconds();
    if (up.status == 304 && entry) {
      ++figures.revalidated;
      m_cache.touch(key, now);
      // The stored answer, with GitHub's current quota figures.
      for (const auto& [k, v] : up.headers)
        if (std::string_view(k).size() > 12 &&
            iequals(std::string_view(k).substr(0, 12), "X-RateLimit-"))
          for (auto& [ek, ev] : entry->headers)
            if (iequals(ek, k))
              ev = v;
      settle(key, reply_of(*entry, "revalidated"));
      return;
    }
    ++figures.misses;
    std::erase_if(up.headers, [](const auto& kv) {
      return hop_by_hop(kv.first) || iequals(kv.first, "Set-Cookie");
    });
    rewrite_links(up.headers);
    Entry fresh{key, partition, target, up.status, std::move(up.headers), std::move(up.body),
                "",  "",        now};
    fresh.etag = header(fresh.headers, "ETag");
    fresh.last_modified = header(fresh.headers, "Last-Modified");
    if (fresh.status < 400 &&
        (!fresh.etag.empty() || !fresh.last_modified.empty() || fresh.status < 300))
      m_cache.put(fresh); // errors are never stored: they cannot be revalidated
    settle(key, reply_of(fresh, "miss"));
  });
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
  for (const auto& [name, f] : m_partitions) {
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
                          {"entries", size.entries},
                          {"bytes", size.bytes}});
  }
  return {{"api_url", m_options.api_url},
          {"in_flight", m_upstream.running()},
          {"partitions", partitions},
          {"cache", cache_stats()}};
}

json Proxy::cache_stats() {
  auto f = m_cache.figures();
  return {{"file", m_options.cache_file.string()},
          {"entries", f.entries},
          {"bytes", f.bytes},
          {"max_bytes", m_options.cache_bytes}};
}

} // namespace kb::daemon::github
