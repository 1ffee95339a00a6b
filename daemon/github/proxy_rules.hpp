#pragma once

// The proxy's rules about requests and answers, apart from its flow (proxy.cpp): which header
// fields pass, which resource a path costs, what a rate limit looks like, the cache key's hash
// and the Cache-Status field it answers with.

#include "daemon/github/upstream.hpp"

#include <string>
#include <string_view>

namespace kb::daemon::github {

// The SHA-256 of `data` in hex (the cache key).
std::string sha256(std::string_view data);

// Fields that describe one connection, not the message, never forwarded; and those libcurl
// sets itself (the length, the encodings it can undo).
bool hop_by_hop(std::string_view name);

// Of a request: also our own fields and the caller's cache directives (they are for us).
// Accept-Encoding goes as sent (libcurl decodes what comes back), and so does the request's
// Content-Encoding (a gzipped body).
bool not_forwarded(std::string_view name);

// Of an answer: also Content-Encoding, since the body was decoded, and Set-Cookie.
bool not_returned(std::string_view name);

// The quota a path draws on (GitHub's x-ratelimit-resource names).
std::string resource_of(std::string_view target);

// Whether GitHub's answer is a rate-limit refusal (primary or secondary; GraphQL's primary
// limit is a 200 whose errors say RATE_LIMITED).
bool rate_limited(const HttpReply& reply);

// The token of an Authorization value (`token X`, `Bearer X`), or empty.
std::string token_of(const std::string& authorization);

// `/repos/OWNER/NAME` of a path, or empty: what a mutation may have changed.
std::string repository_prefix(const std::string& target);

// The Cache-Status field (RFC 9211) of an answer served as `mode`: hit, coalesced, revalidated,
// stale, bypass, limited, or a miss.
std::string cache_status(std::string_view mode);

} // namespace kb::daemon::github
