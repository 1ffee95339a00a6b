// The MCP session: stdio framing, lifecycle, dispatch, cancellation, progress, logging,
// requests to the client, and the daemon link (a pool of channels plus one that follows
// changes and turns them into resource notifications).
#include "cli/mcp/server.hpp"

#include "cli/client/daemon.hpp"
#include "cli/client/oneshot.hpp"
#include "core/protocol/build_info.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/methods.hpp"
#include "core/util/fd.hpp"
#include "core/util/json.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <unistd.h>

namespace kb::cli::mcp {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr size_t k_max_line = 4 << 20; // longer messages are refused
constexpr std::string_view k_levels[] = {"debug", "info",     "notice", "warning",
                                         "error", "critical", "alert",  "emergency"};

// The page size of the list methods (KODEBASE_MCP_PAGE_SIZE for tests of paging).
size_t page_size(size_t fallback) {
  if (const char* env = std::getenv("KODEBASE_MCP_PAGE_SIZE"); env && *env) {
    long n = std::strtol(env, nullptr, 10);
    if (n > 0)
      return static_cast<size_t>(n);
  }
  return fallback;
}

bool newer_or_same(std::string_view version, std::string_view than) {
  return version >= than; // dated versions compare as text
}

// A request id as a map key.
std::string id_key(const json& id) {
  return id.dump();
}

} // namespace

struct Server::State {
  // Output: one writer at a time, whole lines.
  std::mutex write_mutex;

  std::mutex mutex; // everything below
  bool initialize_answered = false;
  std::string version;
  json client_capabilities = json::object();
  std::string client_name;
  LogLevel log_level = LogLevel::warning;
  std::map<std::string, std::shared_ptr<Call>> in_flight;
  std::set<std::string> subscriptions;
  long next_client_request = 0;
  std::map<std::string, std::shared_ptr<std::promise<json>>> asked; // our requests to the client

  // The project: pending until the client's roots are known.
  enum class Project { unknown, pending, known } project_state = Project::unknown;
  std::string project;
  std::condition_variable project_known;
  bool following = false;
  std::shared_ptr<client::Channel> follower; // interrupted to follow another project

  // Work running off the reader thread.
  size_t workers = 0;
  std::condition_variable workers_done;
  bool stopping = false;

  // Idle daemon channels.
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<client::Channel>> pool;
};

Server::Server(Options options) : m_options(std::move(options)), m(std::make_unique<State>()) {
  add_kodebase_catalogue(m_catalogue, m_options);
  if (m_options.conformance_fixtures)
    add_conformance_fixtures(m_catalogue);
}

Server::~Server() = default;

// ---- output -------------------------------------------------------------------------------

void Server::write(const json& message) {
  auto line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  std::lock_guard lock(m->write_mutex);
  if (!util::write_all(STDOUT_FILENO, line)) // the client is gone: nobody is left to answer
    std::_Exit(0);
}

void Server::reply(const json& id, json result) {
  write(json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

void Server::reply_error(const json& id, int code, const std::string& message, json data) {
  json error{{"code", code}, {"message", message}};
  if (!data.is_null())
    error["data"] = std::move(data);
  write(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}});
}

void Server::send_notification(const std::string& method, json params) {
  write(json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
}

void Server::progress(Call& call, double value, std::optional<double> total,
                      const std::string& message) {
  if (call.progress_token.is_null() || call.cancelled)
    return;
  std::lock_guard lock(call.mutex);
  if (call.done || value <= call.last_progress)
    return;
  call.last_progress = value;
  json params{{"progressToken", call.progress_token}, {"progress", value}};
  if (total)
    params["total"] = *total;
  if (!message.empty() && newer_or_same(version(), "2025-03-26"))
    params["message"] = message;
  send_notification("notifications/progress", std::move(params));
}

void Server::log(LogLevel level, const json& data) {
  {
    std::lock_guard lock(m->mutex);
    if (level < m->log_level || !m->initialize_answered)
      return;
  }
  send_notification(
      "notifications/message",
      {{"level", k_levels[static_cast<int>(level)]}, {"logger", "kodebase"}, {"data", data}});
}

std::string Server::version() const {
  std::lock_guard lock(m->mutex);
  return m->version;
}

bool Server::client_can(std::string_view capability) const {
  std::lock_guard lock(m->mutex);
  return m->client_capabilities.contains(std::string(capability));
}

util::Result<json> Server::ask_client(const std::string& method, json params,
                                      std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<json>>();
  auto answer = promise->get_future();
  std::string id;
  {
    std::lock_guard lock(m->mutex);
    id = fmt::format("kodebase-{}", ++m->next_client_request);
    m->asked[id_key(json(id))] = promise;
  }
  write(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  if (answer.wait_for(timeout) != std::future_status::ready) {
    std::lock_guard lock(m->mutex);
    m->asked.erase(id_key(json(id)));
    return util::make_error(
        util::ErrorKind::unavailable,
        fmt::format("the client did not answer {} within {} s", method, timeout.count() / 1000));
  }
  json message = answer.get();
  if (message.contains("error"))
    return util::make_error(util::ErrorKind::failed,
                            fmt::format("the client refused {}: {}", method,
                                        message["error"].value("message", "no reason given")));
  return message.value("result", json::object());
}

// ---- the daemon -----------------------------------------------------------------------------

std::string Server::project_directory() {
  std::unique_lock lock(m->mutex);
  m->project_known.wait_for(lock, 5s, [&] { return m->project_state != State::Project::pending; });
  if (m->project_state != State::Project::known) {
    // No roots came: the working directory, as the CLI would use.
    std::error_code ec;
    m->project = m_options.project.empty() ? fs::current_path(ec).string() : m_options.project;
    m->project_state = State::Project::known;
  }
  return m->project;
}

util::Result<json> Server::daemon(std::string_view method, json params) {
  bool write = protocol::method_has(method, protocol::k_writes);
  params["directory"] = project_directory();
  {
    // The agent is named on reads too: the daemon shows it in the team's presence.
    std::lock_guard lock(m->mutex);
    params["agent"] = m->client_name.empty() ? "AI agent" : m->client_name;
    if (const char* actor = std::getenv("KODEBASE_ACTOR"); write && actor && *actor)
      params["actor"] = actor;
  }
  std::unique_ptr<client::Channel> channel;
  {
    std::lock_guard lock(m->pool_mutex);
    if (!m->pool.empty()) {
      channel = std::move(m->pool.back());
      m->pool.pop_back();
    }
  }
  if (!channel)
    channel = std::make_unique<client::Channel>();
  auto line = channel->call(method, params);
  {
    std::lock_guard lock(m->pool_mutex);
    m->pool.push_back(std::move(channel));
  }
  KB_TRY(line);
  return client::parse_reply(*line);
}

void Server::resolve_project() {
  std::string chosen;
  auto roots = ask_client("roots/list", json::object(), 5s);
  if (roots && roots->contains("roots") && (*roots)["roots"].is_array()) {
    for (const auto& root : (*roots)["roots"]) {
      auto uri = root.value("uri", "");
      if (!uri.starts_with("file://"))
        continue;
      auto rest = std::string_view(uri).substr(7);
      if (rest.starts_with("localhost/"))
        rest.remove_prefix(9);
      auto path = util::percent_decoded(rest);
      if (!path.starts_with("/"))
        continue;
      auto status = client::Channel().call(protocol::method::project_status, {{"directory", path}});
      if (status && client::parse_reply(*status)) {
        chosen = path;
        break;
      }
    }
  } else if (!roots) {
    log(LogLevel::warning, "could not read the client's roots (" + roots.error().message +
                               "); using the working directory");
  }
  std::shared_ptr<client::Channel> follower;
  {
    std::lock_guard lock(m->mutex);
    std::error_code ec;
    m->project = chosen.empty() ? fs::current_path(ec).string() : chosen;
    m->project_state = State::Project::known;
    follower = m->follower;
  }
  m->project_known.notify_all();
  if (follower) // following another project: start over with this one
    follower->interrupt();
}

// Follows the project's changes on a channel of its own, connecting again (and treating what
// may have been missed as changed) when the daemon restarts.
void Server::follow_changes() {
  {
    std::lock_guard lock(m->mutex);
    if (m->following)
      return;
    m->following = true;
  }
  std::thread([this] {
    auto delay = 50ms;
    bool resumed = false;
    for (;;) {
      auto directory = project_directory();
      auto channel = std::make_shared<client::Channel>();
      {
        std::lock_guard lock(m->mutex);
        if (m->stopping)
          return;
        m->follower = channel;
      }
      json params{{"topics", {"artifacts"}}, {"directory", directory}};
      {
        std::lock_guard lock(m->mutex); // the agent shows in the team's presence
        params["agent"] = m->client_name.empty() ? "AI agent" : m->client_name;
      }
      auto reply = channel->call(protocol::method::subscribe, params);
      auto subscribed = reply ? client::parse_reply(*reply) : util::Result<json>(reply.error());
      if (subscribed) {
        delay = 50ms;
        if (resumed) // changes made while we were away are not replayed: say all may have
          on_change(std::string(protocol::method::resync), json::object());
        resumed = true;
        for (;;) {
          auto line = channel->read_line();
          if (!line)
            break;
          auto message = util::parse_json_bounded(*line, protocol::k_message_limits);
          if (message.is_object() && message.contains("method"))
            on_change(message.value("method", ""), message.value("params", json::object()));
        }
      } else if (subscribed.error().kind == util::ErrorKind::not_project) {
        delay = 5s; // nothing to follow until a project appears there
      }
      std::this_thread::sleep_for(delay);
      delay = std::min<std::chrono::milliseconds>(delay * 2, 2s);
    }
  }).detach();
}

void Server::on_change(const std::string& method, const json& params) {
  std::vector<std::string> updated;
  bool listed = false;
  if (method == protocol::method::artifact_duplicate) { // two files claim one ID: renumber one
    log(LogLevel::warning, json{{"duplicate", params}});
    return;
  }
  {
    std::lock_guard lock(m->mutex);
    bool everything = method == protocol::method::resync || method == protocol::method::team_resync;
    if (method != protocol::method::artifact_changed && method != protocol::method::team_changed &&
        !everything)
      return;
    auto id = params.value("id", "");
    auto kind = params.value("kind", "");
    listed = everything || kind == "created" || kind == "deleted";
    for (const auto& uri : m->subscriptions) {
      if (everything || uri == "kodebase://tree") {
        updated.push_back(uri);
        continue;
      }
      constexpr std::string_view prefix = "kodebase://artifact/";
      if (!uri.starts_with(prefix))
        continue;
      auto rest = std::string_view(uri).substr(prefix.size());
      if (rest.substr(0, rest.find('?')) == id)
        updated.push_back(uri);
    }
  }
  for (auto& uri : updated)
    send_notification("notifications/resources/updated", {{"uri", uri}});
  if (listed)
    send_notification("notifications/resources/list_changed", json::object());
  if (method == protocol::method::artifact_changed)
    log(LogLevel::debug, json{{"changed", params}});
}

// ---- the reader -----------------------------------------------------------------------------

void Server::spawn(std::function<void()> work) {
  {
    std::lock_guard lock(m->mutex);
    ++m->workers;
  }
  std::thread([this, work = std::move(work)] {
    work();
    std::lock_guard lock(m->mutex);
    if (--m->workers == 0)
      m->workers_done.notify_all();
  }).detach();
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  std::string buffer;
  bool overlong = false;
  char chunk[64 * 1024];
  for (;;) {
    ssize_t n = util::read_some(STDIN_FILENO, chunk, sizeof chunk);
    if (n <= 0)
      break;
    std::string_view in(chunk, static_cast<size_t>(n));
    while (!in.empty()) {
      auto nl = in.find('\n');
      if (!overlong)
        buffer.append(in.substr(0, nl));
      if (buffer.size() > k_max_line && !overlong) {
        overlong = true;
        buffer.clear();
      }
      if (nl == std::string_view::npos)
        break;
      in.remove_prefix(nl + 1);
      if (overlong)
        reply_error(nullptr, k_invalid_request,
                    fmt::format("message longer than {} MiB; refused", k_max_line >> 20));
      else
        handle_line(buffer);
      buffer.clear();
      overlong = false;
    }
  }
  if (!buffer.empty() && !overlong)
    handle_line(buffer);
  // Stdin ended: answers under way get a moment to finish, then we leave (exit 0).
  std::unique_lock lock(m->mutex);
  m->stopping = true;
  m->workers_done.wait_for(lock, 700ms, [&] { return m->workers == 0; });
  if (m->follower)
    m->follower->interrupt();
  return 0;
}

void Server::handle_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos)
    return;
  if (auto beyond = util::json_beyond_limits(line, protocol::k_message_limits)) {
    reply_error(nullptr, k_invalid_request,
                "invalid request: the message is too complex: " + *beyond);
    return;
  }
  auto message = json::parse(line, nullptr, false);
  if (message.is_discarded()) {
    reply_error(nullptr, k_parse_error, "parse error: the line is not JSON");
    return;
  }
  if (!message.is_array()) {
    handle(std::move(message), nullptr);
    return;
  }
  // A batch: only protocol version 2025-03-26 has them.
  if (version() != "2025-03-26") {
    reply_error(nullptr, k_invalid_request,
                version().empty()
                    ? "a batch cannot come before initialize"
                    : fmt::format("protocol version {} has no JSON-RPC batches; send one "
                                  "message per line",
                                  version()));
    return;
  }
  if (message.empty()) {
    reply_error(nullptr, k_invalid_request, "an empty batch");
    return;
  }
  spawn([this, message = std::move(message)]() mutable {
    std::vector<json> replies;
    for (auto& one : message)
      handle(std::move(one), &replies);
    if (!replies.empty())
      write(json(std::move(replies)));
  });
}

// One message. Requests are answered on a worker (so ping and cancellation are read while a
// call runs), in order when they change the session; within a batch, in turn.
void Server::handle(json message, std::vector<json>* batch) {
  auto fail = [&](const json& id, int code, const std::string& text) {
    json error{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", text}}}};
    if (batch)
      batch->push_back(std::move(error));
    else
      write(error);
  };
  if (!message.is_object() || message.value("jsonrpc", "") != "2.0") {
    fail(nullptr, k_invalid_request, "not a JSON-RPC 2.0 message (jsonrpc must be \"2.0\")");
    return;
  }
  auto method = message.find("method");
  auto id = message.find("id");
  if (method == message.end()) { // a response to one of our requests
    if (id == message.end())
      return fail(nullptr, k_invalid_request, "a message needs a method, or an id and a result");
    std::shared_ptr<std::promise<json>> waiting;
    {
      std::lock_guard lock(m->mutex);
      if (auto it = m->asked.find(id_key(*id)); it != m->asked.end()) {
        waiting = it->second;
        m->asked.erase(it);
      }
    }
    if (waiting)
      waiting->set_value(std::move(message));
    return;
  }
  if (!method->is_string())
    return fail(id == message.end() ? json(nullptr) : *id, k_invalid_request,
                "method must be a string");
  std::string name = method->get<std::string>();
  json params = message.value("params", json::object());
  if (id == message.end()) { // a notification: acted on, never answered
    if (name == "notifications/initialized") {
      initialized();
    } else if (name == "notifications/cancelled") {
      auto target = params.value("requestId", json(nullptr));
      std::lock_guard lock(m->mutex);
      if (auto it = m->in_flight.find(id_key(target)); it != m->in_flight.end())
        it->second->cancelled = true;
    } else if (name == "notifications/roots/list_changed" && m_options.project.empty()) {
      spawn([this] { resolve_project(); });
    }
    return;
  }
  if (!(id->is_string() || id->is_number_integer()))
    return fail(nullptr, k_invalid_request, "id must be a string or an integer");
  if (!params.is_object())
    return fail(*id, k_invalid_params, "params must be an object");
  auto call = std::make_shared<Call>();
  call->id = *id;
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object())
    call->progress_token = meta->value("progressToken", json(nullptr));
  {
    std::lock_guard lock(m->mutex);
    m->in_flight[id_key(*id)] = call;
  }
  auto finish = [this, call, batch](std::optional<json> response) {
    std::lock_guard lock(m->mutex);
    m->in_flight.erase(id_key(call->id));
    {
      std::lock_guard call_lock(call->mutex);
      call->done = true;
    }
    if (!response || call->cancelled) // a cancelled request gets no answer
      return;
    if (batch)
      batch->push_back(std::move(*response));
    else
      write(*response);
  };
  auto work = [this, id = *id, name, params, call, finish] {
    finish(answer(id, name, params, *call));
  };
  // What changes the session is answered in order, on the reader; the rest off it.
  const Method* known = find_method(name);
  if (batch || !known || known->on_reader)
    work();
  else
    spawn(work);
}

const Server::Method* Server::find_method(std::string_view name) {
  static const Method k_methods[] = {
      {"ping", true, true, [](Server&, const json&, Call&) { return json::object(); }},
      {"initialize", true, true, [](Server& s, const json& p, Call&) { return s.initialize(p); }},
      {"logging/setLevel", true, false,
       [](Server& s, const json& p, Call&) { return s.set_log_level(p); }},
      {"tools/list", true, false, [](Server& s, const json& p, Call&) { return s.list_tools(p); }},
      {"tools/call", false, false,
       [](Server& s, const json& p, Call& c) { return s.call_tool(p, c); }},
      {"resources/list", false, false,
       [](Server& s, const json& p, Call&) { return s.list_resources(p); }},
      {"resources/templates/list", true, false,
       [](Server& s, const json& p, Call&) {
         return s.list_page("templates", p, s.m_catalogue.templates, "resourceTemplates");
       }},
      {"resources/read", false, false,
       [](Server& s, const json& p, Call&) { return s.read_resource(p); }},
      {"resources/subscribe", true, false,
       [](Server& s, const json& p, Call&) { return s.subscription(p, true); }},
      {"resources/unsubscribe", true, false,
       [](Server& s, const json& p, Call&) { return s.subscription(p, false); }},
      {"prompts/list", true, false,
       [](Server& s, const json& p, Call&) { return s.list_prompts(p); }},
      {"prompts/get", false, false,
       [](Server& s, const json& p, Call&) { return s.get_prompt(p); }},
      {"completion/complete", false, false,
       [](Server& s, const json& p, Call&) { return s.complete(p); }},
  };
  for (const auto& method : k_methods)
    if (method.name == name)
      return &method;
  return nullptr;
}

std::optional<json> Server::answer(const json& id, const std::string& method, const json& params,
                                   Call& call) {
  try {
    const Method* known = find_method(method);
    if (!known)
      throw RpcError(k_method_not_found, fmt::format("method not found: {}", method));
    if (!known->before_init && version().empty())
      throw RpcError(k_invalid_request, "not initialized: send initialize first");
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", known->answer(*this, params, call)}};
  } catch (const RpcError& e) {
    json error{{"code", e.code}, {"message", e.what()}};
    if (!e.data.is_null())
      error["data"] = e.data;
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
  } catch (const std::exception& e) {
    return json{{"jsonrpc", "2.0"},
                {"id", id},
                {"error", {{"code", k_internal_error}, {"message", e.what()}}}};
  }
}

json Server::set_log_level(const json& params) {
  auto level = params.value("level", json(nullptr));
  auto it = level.is_string()
                ? std::find(std::begin(k_levels), std::end(k_levels), level.get<std::string>())
                : std::end(k_levels);
  if (it == std::end(k_levels))
    throw RpcError(k_invalid_params,
                   "level must be one of debug, info, notice, warning, error, critical, "
                   "alert, emergency");
  std::lock_guard lock(m->mutex);
  m->log_level = static_cast<LogLevel>(it - std::begin(k_levels));
  return json::object();
}

json Server::list_tools(const json& params) {
  json tools = json::array();
  bool structured = newer_or_same(version(), "2025-06-18");
  for (const auto& t : m_catalogue.tools) {
    if (m_options.read_only && !t.read_only)
      continue;
    json entry{{"name", t.name}, {"description", t.description}, {"inputSchema", t.input_schema}};
    if (structured) {
      entry["title"] = t.title;
      if (!t.output_schema.is_null())
        entry["outputSchema"] = t.output_schema;
    }
    if (newer_or_same(version(), "2025-03-26")) {
      entry["annotations"] = {
          {"title", t.title}, {"readOnlyHint", t.read_only}, {"openWorldHint", t.open_world}};
      if (!t.read_only) {
        entry["annotations"]["destructiveHint"] = t.destructive;
        entry["annotations"]["idempotentHint"] = t.idempotent;
      } else {
        entry["annotations"]["idempotentHint"] = true;
      }
    }
    tools.push_back(std::move(entry));
  }
  return list_page("tools", params, tools, "tools");
}

json Server::list_prompts(const json& params) {
  json prompts = json::array();
  for (const auto& p : m_catalogue.prompts) {
    json entry{{"name", p.name}, {"description", p.description}, {"arguments", p.arguments}};
    if (newer_or_same(version(), "2025-06-18"))
      entry["title"] = p.title;
    prompts.push_back(std::move(entry));
  }
  return list_page("prompts", params, prompts, "prompts");
}

// ---- lifecycle ------------------------------------------------------------------------------

json Server::initialize(const json& params) {
  auto requested = params.value("protocolVersion", json(nullptr));
  if (!requested.is_string())
    throw RpcError(k_invalid_params, "initialize needs protocolVersion, e.g. \"2025-11-25\"");
  std::string chosen(k_versions[std::size(k_versions) - 1]);
  for (auto v : k_versions)
    if (v == requested.get<std::string>())
      chosen = v;
  {
    std::lock_guard lock(m->mutex);
    if (m->initialize_answered)
      throw RpcError(k_invalid_request, "already initialized");
    m->initialize_answered = true;
    m->version = chosen;
    m->client_capabilities = params.value("capabilities", json::object());
    if (!m->client_capabilities.is_object())
      m->client_capabilities = json::object();
    auto info = params.value("clientInfo", json::object());
    if (info.is_object()) {
      auto title = info.value("title", json(nullptr));
      m->client_name = title.is_string() ? title.get<std::string>() : info.value("name", "");
    }
  }
  json capabilities{{"tools", {{"listChanged", false}}},
                    {"resources", {{"subscribe", true}, {"listChanged", true}}},
                    {"prompts", {{"listChanged", false}}},
                    {"logging", json::object()}};
  if (newer_or_same(chosen, "2025-03-26"))
    capabilities["completions"] = json::object();
  json info{{"name", "kodebase"}, {"version", protocol::version()}};
  if (newer_or_same(chosen, "2025-06-18"))
    info["title"] = "kodebase";
  if (newer_or_same(chosen, "2025-11-25"))
    info["description"] = "Project work as YAML artifacts in the git repository";
  return json{{"protocolVersion", chosen},
              {"capabilities", capabilities},
              {"serverInfo", info},
              {"instructions", instructions_text()}};
}

void Server::initialized() {
  bool ask_roots = false;
  {
    std::lock_guard lock(m->mutex);
    if (m->project_state != State::Project::unknown)
      return;
    if (!m_options.project.empty()) {
      m->project = m_options.project;
      m->project_state = State::Project::known;
    } else if (m->client_capabilities.contains("roots")) {
      m->project_state = State::Project::pending;
      ask_roots = true;
    } else {
      std::error_code ec;
      m->project = fs::current_path(ec).string();
      m->project_state = State::Project::known;
    }
  }
  if (ask_roots)
    spawn([this] { resolve_project(); });
}

// ---- lists, tools, resources, prompts -------------------------------------------------------

namespace {

// Where a list request starts: 0, or the offset in its cursor (at most `limit`); a cursor
// that is not one of this list's is -32602.
size_t cursor_offset(std::string_view kind, const json& params,
                     size_t limit = std::numeric_limits<size_t>::max()) {
  auto c = params.find("cursor");
  if (c == params.end() || c->is_null())
    return 0;
  auto at = c->is_string() ? read_cursor(kind, c->get<std::string>()) : std::nullopt;
  if (!at || *at > limit)
    throw RpcError(k_invalid_params, "invalid cursor: pass nextCursor from the previous page");
  return *at;
}

// The entry of `items` named `name`, or end.
template <class Items> auto named(Items& items, const std::string& name) {
  return std::find_if(items.begin(), items.end(), [&](const auto& i) { return i.name == name; });
}

} // namespace

json Server::list_page(std::string_view kind, const json& params, const json& items,
                       std::string_view key) {
  size_t offset = cursor_offset(kind, params, items.size());
  size_t size = page_size(50);
  json page = json::array();
  for (size_t i = offset; i < items.size() && page.size() < size; ++i)
    page.push_back(items[i]);
  json out{{std::string(key), std::move(page)}};
  if (offset + size < items.size())
    out["nextCursor"] = make_cursor(kind, offset + size);
  return out;
}

json Server::call_tool(const json& params, Call& call) {
  auto name = params.value("name", json(nullptr));
  if (!name.is_string())
    throw RpcError(k_invalid_params, "tools/call needs the tool's name");
  auto tool = named(m_catalogue.tools, name.get<std::string>());
  if (tool == m_catalogue.tools.end())
    throw RpcError(k_invalid_params, "Unknown tool: " + name.get<std::string>());
  if (m_options.read_only && !tool->read_only)
    throw RpcError(k_invalid_params,
                   fmt::format("Unknown tool: {} (it changes artifacts, and this server runs "
                               "with --read-only)",
                               tool->name));
  json args = params.value("arguments", json::object());
  if (args.is_null())
    args = json::object();
  ToolResult result;
  if (auto problem = schema_problem(tool->input_schema, args)) {
    result = tool_error(fmt::format("Invalid arguments for {}: {}. See the tool's inputSchema.",
                                    tool->name, *problem));
  } else {
    try {
      result = tool->run(*this, call, args);
    } catch (const RpcError&) {
      throw;
    } catch (const std::exception& e) {
      result = tool_error(fmt::format("{} failed inside kodebase: {}", tool->name, e.what()));
    }
  }
  json content = json::array();
  bool structured =
      newer_or_same(version(), "2025-06-18") && !tool->output_schema.is_null() && !result.error;
  // Older clients get the data as JSON text; newer ones a short rendering next to it.
  std::string text = result.text;
  if (!result.error && !structured && !tool->output_schema.is_null())
    text = result.structured.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!text.empty() || result.content.empty())
    content.push_back({{"type", "text"}, {"text", text}});
  for (auto& c : result.content)
    content.push_back(c);
  json out{{"content", std::move(content)}};
  if (structured)
    out["structuredContent"] = std::move(result.structured);
  if (result.error)
    out["isError"] = true;
  return out;
}

json Server::list_resources(const json& params) {
  // Fixed resources first, then one per artifact, paged through the daemon.
  size_t offset = cursor_offset("resources", params);
  size_t size = page_size(100);
  json page = json::array();
  size_t fixed = m_catalogue.resources.size();
  for (size_t i = offset; i < fixed && page.size() < size; ++i) {
    const auto& r = m_catalogue.resources[i];
    json entry{{"uri", r.uri},
               {"name", r.name},
               {"description", r.description},
               {"mimeType", r.mime_type}};
    if (newer_or_same(version(), "2025-06-18"))
      entry["title"] = r.title;
    page.push_back(std::move(entry));
  }
  size_t from = offset > fixed ? offset - fixed : 0;
  size_t want = size - page.size();
  auto listed =
      daemon(protocol::method::artifacts_list, {{"offset", from}, {"limit", want}, {"sort", "id"}});
  size_t matched = 0;
  if (listed) {
    matched = listed->value("matched", 0);
    for (const auto& a : listed->value("artifacts", json::array()))
      page.push_back(
          {{"uri", "kodebase://artifact/" + a.value("id", "")},
           {"name", a.value("id", "")},
           {"description", fmt::format("{} {}: {} ({})", a.value("type", ""), a.value("id", ""),
                                       a.value("title", ""), a.value("state", ""))},
           {"mimeType", "application/yaml"}});
  } else if (listed.error().kind != util::ErrorKind::not_project) {
    throw RpcError(k_internal_error, listed.error().message);
  }
  json out{{"resources", std::move(page)}};
  if (from + want < matched)
    out["nextCursor"] = make_cursor("resources", offset + size);
  return out;
}

json Server::read_resource(const json& params) {
  auto uri = params.value("uri", json(nullptr));
  if (!uri.is_string())
    throw RpcError(k_invalid_params, "resources/read needs a uri");
  for (const auto& reader : m_catalogue.readers)
    if (auto contents = reader(*this, uri.get<std::string>()))
      return *contents;
  throw RpcError(k_resource_not_found, "Resource not found: " + uri.get<std::string>(),
                 {{"uri", uri}});
}

json Server::subscription(const json& params, bool subscribe) {
  auto uri = params.value("uri", json(nullptr));
  if (!uri.is_string() || uri.get<std::string>().empty())
    throw RpcError(k_invalid_params, "a uri is required");
  auto text = uri.get<std::string>();
  if (!text.starts_with("kodebase://") && !text.starts_with("test://"))
    throw RpcError(k_invalid_params,
                   "only kodebase:// resources can be followed, e.g. kodebase://artifact/A.1.3");
  {
    std::lock_guard lock(m->mutex);
    if (subscribe)
      m->subscriptions.insert(text);
    else
      m->subscriptions.erase(text);
  }
  if (subscribe && text.starts_with("kodebase://"))
    follow_changes();
  return json::object();
}

json Server::get_prompt(const json& params) {
  auto name = params.value("name", json(nullptr));
  if (!name.is_string())
    throw RpcError(k_invalid_params, "prompts/get needs the prompt's name");
  auto prompt = named(m_catalogue.prompts, name.get<std::string>());
  if (prompt == m_catalogue.prompts.end())
    throw RpcError(k_invalid_params, "Unknown prompt: " + name.get<std::string>());
  json args = params.value("arguments", json::object());
  if (!args.is_object())
    throw RpcError(k_invalid_params, "arguments must be an object of strings");
  for (const auto& a : prompt->arguments)
    if (a.value("required", false) && !args.contains(a.value("name", "")))
      throw RpcError(k_invalid_params, fmt::format("prompt {} needs the argument {}", prompt->name,
                                                   a.value("name", "")));
  return prompt->get(*this, args);
}

json Server::complete(const json& params) {
  auto ref = params.value("ref", json(nullptr));
  auto argument = params.value("argument", json(nullptr));
  if (!ref.is_object() || !argument.is_object() || !argument.contains("name"))
    throw RpcError(k_invalid_params, "completion/complete needs ref and argument{name, value}");
  auto type = ref.value("type", "");
  if (type == "ref/prompt") {
    auto name = ref.value("name", "");
    if (named(m_catalogue.prompts, name) == m_catalogue.prompts.end())
      throw RpcError(k_invalid_params, "Unknown prompt: " + name);
  } else if (type != "ref/resource") {
    throw RpcError(k_invalid_params, "ref.type must be ref/prompt or ref/resource");
  }
  std::vector<std::string> values;
  for (const auto& completer : m_catalogue.completers)
    if (auto found =
            completer(*this, ref, argument.value("name", ""), argument.value("value", ""))) {
      values = std::move(*found);
      break;
    }
  json out{{"values", json::array()}, {"total", values.size()}, {"hasMore", values.size() > 100}};
  for (size_t i = 0; i < values.size() && i < 100; ++i)
    out["values"].push_back(values[i]);
  return json{{"completion", std::move(out)}};
}

} // namespace kb::cli::mcp
