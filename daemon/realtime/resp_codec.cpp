// Redis URLs, command encoding and the reply reader (hiredis's parser): no I/O, so the fuzz
// target can take them alone.
#include "daemon/realtime/resp.hpp"

#include "core/util/text.hpp"

#include <charconv>
#include <fmt/format.h>
#include <hiredis/hiredis.h>

namespace kb::daemon::realtime {

namespace {

util::Error bad_url(std::string_view text, std::string why) {
  return util::make_error(util::ErrorKind::invalid_argument,
                          fmt::format("'{}' is not a Redis URL: {}", text, why),
                          {{"hint", "use redis://[user:password@]host[:port][/db], rediss://... "
                                    "for TLS, or unix:///path/to/redis.sock"}});
}

} // namespace

std::string RedisUrl::redacted() const {
  std::string who = user.empty() && password.empty() ? ""
                    : password.empty()               ? user + "@"
                                                     : user + ":***@";
  switch (kind) {
  case Kind::unix_socket:
    return fmt::format("unix://{}{}", path, db ? fmt::format("?db={}", db) : "");
  case Kind::tcp:
  case Kind::tls:
    return fmt::format("{}://{}{}:{}{}", kind == Kind::tls ? "rediss" : "redis", who, host, port,
                       db ? fmt::format("/{}", db) : "");
  }
  return {};
}

util::Result<RedisUrl> parse_redis_url(std::string_view text) {
  RedisUrl url;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return bad_url(text, "no scheme");
  auto scheme = text.substr(0, scheme_end);
  auto rest = text.substr(scheme_end + 3);
  auto parse_db = [&](std::string_view digits) -> util::Status {
    if (digits.empty())
      return util::ok_status();
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), url.db);
    if (ec != std::errc() || p != digits.data() + digits.size() || url.db < 0)
      return bad_url(text, fmt::format("database '{}' is not a number", digits));
    return util::ok_status();
  };
  if (scheme == "unix") {
    url.kind = RedisUrl::Kind::unix_socket;
    auto query = rest.find('?');
    url.path = util::percent_decoded(rest.substr(0, query));
    if (url.path.empty() || url.path.front() != '/')
      return bad_url(text, "a unix URL needs an absolute path, e.g. unix:///run/redis.sock");
    if (query != std::string_view::npos) {
      auto q = rest.substr(query + 1);
      if (!q.starts_with("db="))
        return bad_url(text, "the only query is ?db=N");
      KB_TRY(parse_db(q.substr(3)));
    }
    return url;
  }
  if (scheme != "redis" && scheme != "rediss")
    return bad_url(text, fmt::format("unknown scheme '{}'", scheme));
  url.kind = scheme == "rediss" ? RedisUrl::Kind::tls : RedisUrl::Kind::tcp;
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos)
    KB_TRY(parse_db(rest.substr(slash + 1)));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto credentials = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    auto colon = credentials.find(':');
    url.user = util::percent_decoded(credentials.substr(0, colon));
    if (colon != std::string_view::npos)
      url.password = util::percent_decoded(credentials.substr(colon + 1));
  }
  std::string_view port;
  if (authority.starts_with("[")) { // [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad_url(text, "an IPv6 address needs its closing ]");
    url.host = authority.substr(1, close - 1);
    if (authority.size() > close + 1 && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
  }
  if (url.host.empty())
    return bad_url(text, "no host");
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (ec != std::errc() || p != port.data() + port.size() || url.port == 0)
      return bad_url(text, fmt::format("port '{}' is not a number from 1 to 65535", port));
  }
  return url;
}

std::string encode_command(std::span<const std::string> args) {
  std::string out = fmt::format("*{}\r\n", args.size());
  for (const auto& a : args) {
    out += fmt::format("${}\r\n", a.size());
    out += a;
    out += "\r\n";
  }
  return out;
}

// ---- reader ---------------------------------------------------------------------------------

// hiredis allocates an array's slots as soon as its header arrives ("*1000000000" asks for
// gigabytes), so the reader gets hiredis's own functions with one change: the arrays of one
// reply may hold at most k_max_elements slots together; beyond that, the reply is refused.
constexpr long long k_max_elements = 1 << 16;

struct ReplyReader::Impl {
  redisReader* reader;
  bool failed = false;
  long long elements = 0; // array slots of the reply being read

  Impl() : reader(redisReaderCreateWithFunctions(&functions())) { reader->privdata = this; }
  ~Impl() { redisReaderFree(reader); }

  using CreateArray = void* (*)(const redisReadTask*, int);
  static CreateArray& default_array() {
    static CreateArray create = nullptr;
    return create;
  }
  static redisReplyObjectFunctions& functions() {
    static redisReplyObjectFunctions bounded = [] {
      redisReader* probe = redisReaderCreate();
      redisReplyObjectFunctions f = *probe->fn;
      redisReaderFree(probe);
      default_array() = f.createArray;
      f.createArray = &bounded_array;
      return f;
    }();
    return bounded;
  }
  static void* bounded_array(const redisReadTask* task, int count) {
    auto* self = static_cast<Impl*>(task->privdata);
    if (self && (count < 0 || (self->elements += count) > k_max_elements))
      return nullptr; // hiredis reports it as out of memory: the reader fails
    return default_array()(task, count);
  }
};

ReplyReader::ReplyReader() : m(std::make_unique<Impl>()) {}
ReplyReader::~ReplyReader() = default;

namespace {

Reply copy_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
  case REDIS_REPLY_STRING: out.type = Reply::Type::string; break;
  case REDIS_REPLY_ARRAY: out.type = Reply::Type::array; break;
  case REDIS_REPLY_INTEGER: out.type = Reply::Type::integer; break;
  case REDIS_REPLY_STATUS: out.type = Reply::Type::status; break;
  case REDIS_REPLY_ERROR: out.type = Reply::Type::error; break;
  default: out.type = Reply::Type::nil; break;
  }
  if (r->str)
    out.str.assign(r->str, r->len);
  out.integer = r->integer;
  for (size_t i = 0; i < r->elements; ++i)
    out.elements.push_back(copy_reply(r->element[i]));
  return out;
}

util::Error protocol_error(std::string_view what) {
  return util::make_error(util::ErrorKind::failed,
                          fmt::format("malformed reply from Redis: {}", what));
}

} // namespace

util::Status ReplyReader::feed(std::string_view bytes) {
  if (m->failed)
    return protocol_error("the reader failed earlier");
  if (redisReaderFeed(m->reader, bytes.data(), bytes.size()) != REDIS_OK) {
    m->failed = true;
    return protocol_error(m->reader->errstr);
  }
  return util::ok_status();
}

util::Result<std::optional<Reply>> ReplyReader::next() {
  if (m->failed)
    return protocol_error("the reader failed earlier");
  void* raw = nullptr;
  if (redisReaderGetReply(m->reader, &raw) != REDIS_OK) {
    m->failed = true;
    return protocol_error(m->reader->errstr);
  }
  if (!raw)
    return std::optional<Reply>();
  m->elements = 0; // the next reply has its own budget
  auto* reply = static_cast<redisReply*>(raw);
  Reply out = copy_reply(reply);
  freeReplyObject(reply);
  return std::optional<Reply>(std::move(out));
}

} // namespace kb::daemon::realtime
