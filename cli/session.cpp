#include "cli/session.hpp"

#include "cli/client/daemon.hpp"
#include "cli/client/oneshot.hpp"
#include "core/protocol/raw_member.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace kb::cli {

namespace fs = std::filesystem;

void print(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

int exit_code_for(util::ErrorKind kind) {
  switch (kind) {
  case util::ErrorKind::invalid_argument: return k_exit_usage;
  case util::ErrorKind::not_found:
  case util::ErrorKind::failed:
  case util::ErrorKind::conflict: return k_exit_failed;
  case util::ErrorKind::not_project:
  case util::ErrorKind::io:
  case util::ErrorKind::unavailable:
  case util::ErrorKind::internal: return k_exit_environment;
  }
  return k_exit_environment;
}

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("kodebase") : p.string();
}

util::Status Session::prepare() {
  m_style = render::Style(render::colour_wanted(globals.no_color));
  std::error_code ec;
  fs::path dir = globals.directory.empty() ? fs::current_path(ec) : fs::path(globals.directory);
  if (ec)
    return util::make_error(util::ErrorKind::io,
                            fmt::format("cannot read the current directory: {}", ec.message()));
  dir = fs::absolute(dir, ec).lexically_normal();
  if (!fs::is_directory(dir, ec))
    return util::make_error(
        util::ErrorKind::not_project,
        fmt::format("cannot change to '{}': no such directory", globals.directory));
  if (!dir.has_filename())
    dir = dir.parent_path(); // "/a/b/" → "/a/b"
  m_directory = dir;
  return util::ok_status();
}

util::Result<std::string> Session::exchange(std::string_view method, json params,
                                            const client::ReplySink* sink) {
  params["directory"] = m_directory.string();
  // Every request says who asks (writes record it, reads such as `status` show it): the
  // daemon's own environment is not the caller's.
  if (const char* actor = std::getenv("KODEBASE_ACTOR");
      actor && *actor && !params.contains("actor"))
    params["actor"] = actor;
  auto start = std::chrono::steady_clock::now();
  auto reply = globals.no_daemon
                   ? client::exchange_oneshot(method, params, sink)
                   : client::exchange_daemon(method, params, client::Autostart::yes, sink);
  if (globals.verbose) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    std::fprintf(stderr, "kodebase: %.*s answered in %.1f ms (%s)\n",
                 static_cast<int>(method.size()), method.data(), static_cast<double>(us) / 1000,
                 globals.no_daemon ? "one-shot" : "daemon");
  }
  return reply;
}

util::Result<json> Session::call(std::string_view method, json params) {
  auto reply = exchange(method, std::move(params));
  KB_TRY(reply);
  return client::parse_reply(*reply);
}

util::Result<json> Session::call_streaming(std::string_view method, json params,
                                           std::string_view member, std::FILE* out) {
  protocol::MemberSplitter splitter({"result", std::string(member)}, [&](std::string_view bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), out);
  });
  client::ReplySink sink = [&](std::string_view bytes) { splitter.feed(bytes); };
  auto reply = exchange(method, std::move(params), &sink);
  KB_TRY(reply);
  auto result = client::parse_reply(splitter.rest());
  KB_TRY(result);
  if (!splitter.found()) { // shaped otherwise than the scanner expects: print it from the tree
    auto text = result->value(member, json()).dump();
    std::fwrite(text.data(), 1, text.size(), out);
  }
  std::fputc('\n', out);
  return result;
}

bool Session::json_is_compact() const {
  return !::isatty(STDOUT_FILENO);
}

int Session::fail(const util::Error& error) const {
  std::fprintf(stderr, "kodebase: %s\n", error.message.c_str());
  if (error.details.is_object()) {
    if (auto hint = error.details.find("hint"); hint != error.details.end() && hint->is_string())
      std::fprintf(stderr, "hint: %s\n", hint->get<std::string>().c_str());
  }
  return exit_code_for(error.kind);
}

void Session::warn(std::string_view message) const {
  if (!globals.quiet)
    std::fprintf(stderr, "kodebase: warning: %.*s\n", static_cast<int>(message.size()),
                 message.data());
}

void Session::warn_problems(const json& problems) const {
  if (!problems.is_array())
    return;
  for (const auto& p : problems)
    warn(fmt::format("{}:{}:{}: {} (skipped; run `kodebase validate`)", p.value("path", ""),
                     p.value("line", 0), p.value("column", 0), p.value("message", "")));
}

void Session::print_json(const json& value) const {
  // Indented for a person at a terminal, compact for a pipe (cheaper to write and to read).
  int indent = json_is_compact() ? -1 : 2;
  auto text = value.dump(indent, ' ', false, json::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void with_token(json& params) {
  for (const char* name : {"GH_TOKEN", "GITHUB_TOKEN"})
    if (const char* token = std::getenv(name); token && *token) {
      params["token"] = token;
      return;
    }
}

std::string base_merge_lines(const json& merge, std::string_view who) {
  if (!merge.is_object())
    return "";
  std::string prefix = who.empty() ? std::string() : fmt::format("{}: ", who);
  if (merge.value("merged", false)) {
    std::string files;
    for (const auto& f : merge["conflicts"])
      files += (files.empty() ? "" : ", ") + f.get<std::string>();
    if (merge.contains("push_error"))
      std::fprintf(stderr, "kodebase: warning: %s%s; push the branch yourself\n", prefix.c_str(),
                   merge.value("push_error", "").c_str());
    return fmt::format("{}merged origin/{} in first, where both changed {}\n", prefix,
                       merge.value("base", ""), files);
  }
  if (merge.contains("error"))
    std::fprintf(stderr,
                 "kodebase: warning: %scannot check the merge with the default branch: %s\n",
                 prefix.c_str(), merge.value("error", "").c_str());
  else if (merge.contains("mergeable") && merge["mergeable"] == false)
    std::fprintf(stderr, "kodebase: warning: %sthe pull request conflicts with %s; %s\n",
                 prefix.c_str(), merge.value("base", "").c_str(), merge.value("hint", "").c_str());
  return "";
}

} // namespace kb::cli
