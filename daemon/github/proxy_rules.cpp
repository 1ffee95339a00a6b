#include "daemon/github/proxy_rules.hpp"

#include "core/util/text.hpp"

#include <array>
#include <fmt/format.h>
#include <openssl/evp.h>

namespace kb::daemon::github {

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned size = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &size, EVP_sha256(), nullptr);
  return util::to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), size));
}

// Fields that describe one connection, not the message, never forwarded; and those libcurl
// sets itself (the length, the encodings it can undo).
bool hop_by_hop(std::string_view name) {
  for (std::string_view h :
       {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length"})
    if (util::ascii_iequals(name, h))
      return true;
  return false;
}

// Of a request: also our own fields and the caller's cache directives (they are for us).
// Accept-Encoding goes as sent (libcurl decodes what comes back), and so does the request's
// Content-Encoding (a gzipped body).
bool not_forwarded(std::string_view name) {
  return hop_by_hop(name) || util::ascii_iequals(name, "Cache-Control") ||
         util::ascii_iequals(name, "Authorization") || name.starts_with("X-Kodebase-") ||
         name.starts_with("x-kodebase-");
}

// Of an answer: also Content-Encoding, since the body was decoded, and Set-Cookie.
bool not_returned(std::string_view name) {
  return hop_by_hop(name) || util::ascii_iequals(name, "Content-Encoding") ||
         util::ascii_iequals(name, "Set-Cookie");
}

// The quota a path draws on (GitHub's x-ratelimit-resource names).
std::string resource_of(std::string_view target) {
  if (target.starts_with("/search/code"))
    return "code_search";
  if (target.starts_with("/search/"))
    return "search";
  if (target.starts_with("/graphql"))
    return "graphql";
  return "core";
}

// Whether GitHub's answer is a rate-limit refusal (primary or secondary; GraphQL's primary
// limit is a 200 whose errors say RATE_LIMITED).
bool rate_limited(const HttpReply& reply) {
  if (reply.status == 200)
    return reply.body.find("\"RATE_LIMITED\"") != std::string::npos &&
           header(reply.headers, "X-RateLimit-Resource") == "graphql";
  if (reply.status != 403 && reply.status != 429)
    return false;
  return reply.status == 429 || !header(reply.headers, "Retry-After").empty() ||
         header(reply.headers, "X-RateLimit-Remaining") == "0" ||
         reply.body.find("rate limit") != std::string::npos;
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
  if (mode == "limited")
    return "kodebase; detail=limited";
  return fmt::format("kodebase; fwd=miss; detail={}", mode);
}

} // namespace kb::daemon::github
