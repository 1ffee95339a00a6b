// `api`, `github status` and `cache`: the GitHub API through the daemon's proxy and cache.
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"
#include "core/util/json.hpp"
#include "core/util/text.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace kb::cli {

namespace {

namespace method = protocol::method;

struct ApiOptions {
  std::string endpoint;
  std::string method;
  std::vector<std::string> raw_fields;   // -f key=value
  std::vector<std::string> typed_fields; // -F key=value
  std::vector<std::string> headers;      // -H "Name: value"
  std::string input;                     // --input FILE|-
  std::string batch;                     // --batch FILE|-
  bool include = false;
  bool paginate = false;
  bool silent = false;
};

util::Error usage(std::string message, std::string hint = {}) {
  return util::make_error(util::ErrorKind::invalid_argument, std::move(message),
                          hint.empty() ? json::object() : json{{"hint", hint}});
}

std::string percent_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

util::Result<std::string> read_all(const std::string& file) {
  if (file == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return util::make_error(util::ErrorKind::not_found, "cannot read " + file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// -F's value: true/false/null, numbers, @file (its text), else the string.
util::Result<json> typed_value(const std::string& value) {
  if (value == "true" || value == "false")
    return json(value == "true");
  if (value == "null")
    return json(nullptr);
  if (!value.empty() && value[0] == '@') {
    auto text = read_all(value.substr(1));
    KB_TRY(text);
    return json(*text);
  }
  char* end = nullptr;
  long long n = std::strtoll(value.c_str(), &end, 10);
  if (!value.empty() && end && *end == '\0')
    return json(n);
  return json(value);
}

// What GitHub's base64 carries back as bytes (body_base64 of a binary answer).
std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0)
      continue;
    acc = (acc << 6) | v;
    if ((bits += 6) >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string body_of(const json& reply) {
  if (reply.contains("body_base64"))
    return base64_decode(reply.value("body_base64", ""));
  return reply.value("body", "");
}

std::string header_of(const json& reply, std::string_view name) {
  for (const auto& kv : reply.value("headers", json::array()))
    if (kv.is_array() && kv.size() == 2 && util::ascii_iequals(kv[0].get<std::string>(), name))
      return kv[1].get<std::string>();
  return {};
}

// The rel="next" URL of a Link header, as a path below the API root; empty at the end.
std::string next_page(const std::string& link) {
  for (size_t at = 0; at < link.size();) {
    auto open = link.find('<', at), close = link.find('>', open);
    if (open == std::string::npos || close == std::string::npos)
      break;
    auto end = link.find(',', close);
    auto params =
        link.substr(close + 1, end == std::string::npos ? std::string::npos : end - close);
    if (params.find("rel=\"next\"") != std::string::npos) {
      auto url = link.substr(open + 1, close - open - 1);
      if (auto scheme = url.find("://"); scheme != std::string::npos)
        url = url.substr(std::min(url.size(), url.find('/', scheme + 3)));
      return url;
    }
    at = end == std::string::npos ? link.size() : end + 1;
  }
  return {};
}

// --batch: many requests in one call, each settled on its own.
int run_batch(Session& s, const std::string& file) {
  auto text = read_all(file);
  if (!text)
    return s.fail(text.error());
  auto doc = util::parse_json_bounded(*text, util::k_document_limits);
  if (doc.is_object() && doc.contains("requests"))
    doc = doc["requests"];
  if (!doc.is_array())
    return s.fail(usage(
        "--batch takes a JSON list of requests, e.g. [{\"path\": \"/repos/o/r\"}, {\"method\": "
        "\"POST\", \"path\": \"/repos/o/r/issues\", \"body\": \"{...}\"}]"));
  json params{{"requests", doc}};
  with_token(params);
  auto r = s.call(method::github_batch, params);
  if (!r)
    return s.fail(r.error());
  s.print_json(*r);
  int failed = 0;
  for (const auto& one : r->value("results", json::array()))
    failed += one.contains("error") || one.value("status", 0) >= 400 ? 1 : 0;
  if (failed > 0 && !s.globals.quiet)
    std::fprintf(stderr, "kodebase: %d of %zu requests failed\n", failed, doc.size());
  return failed > 0 ? k_exit_failed : k_exit_ok;
}

int run_api(Session& s, const ApiOptions& o) {
  if (s.globals.no_daemon)
    return s.fail(usage("`kodebase api` needs the daemon: it holds the GitHub cache and quota",
                        "drop --no-daemon"));
  if (!o.batch.empty()) {
    if (!o.endpoint.empty())
      return s.fail(usage("--batch takes the requests from its file; give no endpoint with it"));
    return run_batch(s, o.batch);
  }
  if (o.endpoint.empty())
    return s.fail(usage("which endpoint? e.g. `kodebase api repos/OWNER/NAME`",
                        "or --batch FILE for many requests at once"));
  std::string path = o.endpoint;
  bool graphql = path == "graphql" || path == "/graphql";
  if (!path.starts_with("/") && !path.starts_with("http"))
    path = "/" + path;
  // Header names are matched without case: a caller's `accept` replaces the default Accept.
  json headers = json::object();
  auto find_header = [&](std::string_view name) {
    auto it = headers.begin();
    while (it != headers.end() && !util::ascii_iequals(it.key(), name))
      ++it;
    return it;
  };
  auto set_header = [&](const std::string& name, const std::string& value) {
    if (auto it = find_header(name); it != headers.end())
      headers.erase(it);
    headers[name] = value;
  };
  auto has_header = [&](std::string_view name) { return find_header(name) != headers.end(); };
  set_header("Accept", "application/vnd.github+json");
  for (const auto& h : o.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return s.fail(usage("-H takes \"Name: value\", not `" + h + "`"));
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    set_header(h.substr(0, colon), value);
  }
  // Fields: the query of a GET, else a JSON body (GraphQL: query and operationName at the top,
  // the rest as variables).
  json fields = json::object();
  for (const auto* list : {&o.raw_fields, &o.typed_fields})
    for (const auto& f : *list) {
      auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0)
        return s.fail(usage("fields take key=value, not `" + f + "`"));
      auto key = f.substr(0, eq), value = f.substr(eq + 1);
      if (list == &o.raw_fields) {
        fields[key] = value;
      } else {
        auto typed = typed_value(value);
        if (!typed)
          return s.fail(typed.error());
        fields[key] = *typed;
      }
    }
  std::string verb = o.method;
  if (verb.empty())
    verb = (!fields.empty() || !o.input.empty() || graphql) ? "POST" : "GET";
  std::transform(verb.begin(), verb.end(), verb.begin(), ::toupper);
  std::string body;
  if (!o.input.empty()) {
    auto text = read_all(o.input);
    if (!text)
      return s.fail(text.error());
    body = *text;
  }
  bool fields_in_query = verb == "GET" || verb == "HEAD" || !o.input.empty();
  if (!fields.empty() && fields_in_query) {
    std::string query;
    for (const auto& [k, v] : fields.items())
      query += (query.empty() ? "" : "&") + percent_encode(k) + "=" +
               percent_encode(v.is_string() ? v.get<std::string>() : v.dump());
    path += (path.find('?') == std::string::npos ? "?" : "&") + query;
  } else if (!fields.empty()) {
    if (graphql) {
      json doc = json::object(), variables = json::object();
      for (const auto& [k, v] : fields.items())
        (k == "query" || k == "operationName" ? doc[k] : variables[k]) = v;
      if (!variables.empty())
        doc["variables"] = variables;
      body = doc.dump();
    } else {
      body = fields.dump();
    }
  }
  if (!body.empty() && !has_header("Content-Type"))
    set_header("Content-Type", "application/json; charset=utf-8");

  json params{{"method", verb}, {"path", path}, {"headers", headers}};
  if (!body.empty())
    params["body"] = body;
  with_token(params);

  if (o.paginate)
    params["background"] = true; // a walk through pages yields to interactive use near the limit
  json pages = json::array();
  bool arrays = true;
  int status = 0;
  std::string last_body;
  for (int page = 0; page < 1000; ++page) {
    auto reply = s.call(method::github_request, params);
    if (!reply)
      return s.fail(reply.error());
    status = reply->value("status", 0);
    last_body = body_of(*reply);
    if (page == 0 && reply->value("anonymous", false) && !s.globals.quiet)
      std::fprintf(stderr, "kodebase: no GitHub token (set GH_TOKEN or run `gh auth login`); "
                           "unauthenticated requests are limited to 60 an hour\n");
    if (o.include) {
      print(fmt::format("HTTP/1.1 {}\n", status));
      for (const auto& kv : reply->value("headers", json::array()))
        print(fmt::format("{}: {}\n", kv[0].get<std::string>(), kv[1].get<std::string>()));
      print("\n");
    }
    if (!o.paginate || status >= 400) {
      break;
    }
    auto doc = util::parse_json_bounded(last_body, util::k_document_limits);
    arrays &= doc.is_array();
    if (arrays)
      for (auto& item : doc)
        pages.push_back(std::move(item));
    else
      print(last_body + "\n"); // not a list: each page as it came
    auto next = next_page(header_of(*reply, "Link"));
    if (next.empty())
      break;
    if (::isatty(STDERR_FILENO) && !s.globals.quiet)
      std::fprintf(stderr, "\rkodebase: page %d…", page + 2);
    params["path"] = next;
  }
  if (o.paginate && ::isatty(STDERR_FILENO) && !s.globals.quiet)
    std::fprintf(stderr, "\r\033[K");
  std::string out = o.paginate && arrays && status < 400 ? pages.dump() : last_body;
  if (!o.silent) {
    auto doc = util::parse_json_bounded(out, util::k_document_limits);
    if (::isatty(STDOUT_FILENO) && !doc.is_discarded())
      print(doc.dump(2) + "\n");
    else
      print(out);
  }
  std::fflush(stdout);
  if (status >= 400) {
    auto doc = util::parse_json_bounded(last_body, util::k_document_limits);
    std::string message = doc.is_object() ? doc.value("message", "") : "";
    std::fprintf(stderr, "kodebase: GitHub answered HTTP %d%s%s\n", status,
                 message.empty() ? "" : ": ", message.c_str());
    return k_exit_failed;
  }
  return k_exit_ok;
}

std::string when(long long epoch) {
  if (epoch <= 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(epoch);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

std::string bytes(long long n) {
  if (n < 1024)
    return fmt::format("{} B", n);
  if (n < 1024 * 1024)
    return fmt::format("{:.1f} KB", n / 1024.0);
  return fmt::format("{:.1f} MB", n / (1024.0 * 1024));
}

int run_github_status(Session& s) {
  auto r = s.call(method::github_status);
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  std::string text = fmt::format(
      "GitHub API  {}  ({} requests in flight; per token at most {} at once, {} kept for "
      "interactive use)\n",
      r->value("api_url", ""), r->value("in_flight", 0), r->value("max_concurrent", 0),
      r->value("reserve", 0));
  text += fmt::format("socket      {}{}\n", r->value("socket", ""),
                      (*r)["loopback"].is_string() ? "  and " + (*r)["loopback"].get<std::string>()
                                                   : std::string());
  const auto& cache = (*r)["cache"];
  text += fmt::format("cache       {} entries, {} of {}  {}\n", cache.value("entries", 0),
                      bytes(cache.value("bytes", 0LL)), bytes(cache.value("max_bytes", 0LL)),
                      cache.value("file", ""));
  const auto& partitions = (*r)["partitions"];
  if (partitions.empty())
    text += "no requests yet\n";
  for (const auto& p : partitions) {
    text += fmt::format("token {}\n", p.value("partition", ""));
    const json rate = p.value("rate", json::object());
    for (const auto& [resource, q] : rate.items())
      text += fmt::format("  {:<10} {} of {} left, resets {}\n", resource,
                          q.value("remaining", json(0)).dump(), q.value("limit", json(0)).dump(),
                          when(q["reset"].is_number() ? q["reset"].get<long long>() : 0));
    text += fmt::format("  hits {}, 304s {}, misses {}, coalesced {}, stale {}, passed {}, "
                        "limited {}, errors {}; {} entries, {}\n",
                        p.value("hits", 0), p.value("revalidated", 0), p.value("misses", 0),
                        p.value("coalesced", 0), p.value("stale", 0), p.value("passed", 0),
                        p.value("limited", 0), p.value("errors", 0), p.value("entries", 0),
                        bytes(p.value("bytes", 0LL)));
  }
  print(text);
  return k_exit_ok;
}

int run_cache(Session& s, std::string_view verb, const std::string& repo) {
  auto r = verb == "stats" ? s.call(method::cache_stats)
           : verb == "clear"
               ? s.call(method::cache_clear, repo.empty() ? json::object() : json{{"repo", repo}})
               : s.call(method::cache_prune);
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
  } else if (verb == "stats") {
    print(fmt::format("{} entries, {} of {}  {}\n", r->value("entries", 0),
                      bytes(r->value("bytes", 0LL)), bytes(r->value("max_bytes", 0LL)),
                      r->value("file", "")));
    if (auto failures = r->value("failures", 0); failures > 0) // answers still come, uncached
      print(fmt::format("{} database failures, the last: {}\n", failures,
                        r->value("last_failure", json("")).is_string()
                            ? r->value("last_failure", "")
                            : std::string()));
  } else if (!s.globals.quiet) {
    print(fmt::format("removed {} entries\n", r->value("removed", 0)));
  }
  return k_exit_ok;
}

} // namespace

void register_github_commands(CLI::App& app, CommandRegistry& registry) {
  auto o = std::make_shared<ApiOptions>();
  auto* api = app.add_subcommand("api", "Call the GitHub API through the daemon's cache");
  api->add_option("endpoint", o->endpoint, "A path such as repos/OWNER/NAME/issues, or graphql");
  api->add_option("-X,--method", o->method, "The HTTP method (default GET, POST with fields)");
  api->add_option("-f,--raw-field", o->raw_fields, "A string field key=value (repeatable)");
  api->add_option("-F,--field", o->typed_fields,
                  "A typed field key=value: true, false, null, numbers, @file (repeatable)");
  api->add_option("-H,--header", o->headers, "A request header \"Name: value\" (repeatable)");
  api->add_option("--input", o->input, "The request body from a file, or - for stdin");
  api->add_flag("-i,--include", o->include, "Print the status line and headers first");
  api->add_flag("--paginate", o->paginate,
                "Follow Link: rel=\"next\" and join the pages' arrays into one");
  api->add_flag("--silent", o->silent, "Print nothing of the body");
  api->add_option("--batch", o->batch,
                  "Many requests at once from a JSON list in FILE (or - for stdin): "
                  "[{method, path, headers, body}]; prints {results: [...]}");
  api->footer("GET fields go to the query string, other methods send them as a JSON body. The "
              "token is the request's Authorization header, else GH_TOKEN / GITHUB_TOKEN. Answers "
              "are cached per token and revalidated with ETags (a 304 costs no quota); "
              "`-H 'Cache-Control: no-cache'` asks GitHub again. Exit 1 when GitHub answers "
              "HTTP 400 or above.");
  registry.add(api, [o](Session& s) { return run_api(s, *o); });

  auto* github = app.add_subcommand("github", "The daemon's GitHub proxy");
  github->require_subcommand(1);
  registry.add(github->add_subcommand(
                   "status", "Quota per token, cache hits, 304s, misses and coalesced requests"),
               run_github_status);

  auto* cache = app.add_subcommand("cache", "The daemon's cache of GitHub answers");
  cache->require_subcommand(1);
  registry.add(cache->add_subcommand("stats", "Entries, bytes and the cache file"),
               [](Session& s) { return run_cache(s, "stats", ""); });
  auto repo = std::make_shared<std::string>();
  auto* clear = cache->add_subcommand("clear", "Forget cached answers (all, or one repository's)");
  clear->add_option("--repo", *repo, "Only this repository's answers (OWNER/NAME)");
  registry.add(clear, [repo](Session& s) { return run_cache(s, "clear", *repo); });
  registry.add(cache->add_subcommand("prune", "Drop the least recently used answers beyond the "
                                              "size cap"),
               [](Session& s) { return run_cache(s, "prune", ""); });
}

} // namespace kb::cli
