#pragma once

// `kodebase mcp`: the MCP adapter. MCP (newline-delimited JSON-RPC on stdio) towards the
// agent, the kodebase protocol towards the daemon. Every tool calls kodebase API methods
// through the daemon; this layer only translates, checks arguments and renders.

#include "core/protocol/jsonrpc.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kb::cli::mcp {

using nlohmann::json;

struct Options {
  std::string project;               // --project (empty: the client's roots, else the cwd)
  bool read_only = false;            // only tools that read
  bool conformance_fixtures = false; // the conformance suite's fixture tools, resources, prompts
};

// Protocol versions we speak, oldest first; the last is offered when a client asks for
// another.
inline constexpr std::string_view k_versions[] = {"2024-11-05", "2025-03-26", "2025-06-18",
                                                  "2025-11-25"};

// JSON-RPC error codes: the protocol's own, and MCP's for a resource that is not there.
using protocol::k_internal_error;
using protocol::k_invalid_params;
using protocol::k_invalid_request;
using protocol::k_method_not_found;
using protocol::k_parse_error;
inline constexpr int k_resource_not_found = -32002;

// A protocol failure: becomes a JSON-RPC error reply.
struct RpcError : std::runtime_error {
  int code;
  json data;
  RpcError(int c, const std::string& message, json d = nullptr)
      : std::runtime_error(message), code(c), data(std::move(d)) {}
};

enum class LogLevel { debug, info, notice, warning, error, critical, alert, emergency };

// One request being answered: cancellation and progress.
struct Call {
  json id;
  json progress_token; // null when the client asked for no progress
  std::atomic<bool> cancelled{false};
  std::mutex mutex;
  double last_progress = -1;
  bool done = false;
};

// What a tool returns: structured content (checked against the tool's outputSchema), a short
// text rendering, and further content blocks.
struct ToolResult {
  json structured = json::object();
  std::string text;
  bool error = false;
  json content = json::array();
};

// A failed tool call the agent can act on.
ToolResult tool_error(std::string message);

class Server;

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  json input_schema;
  json output_schema; // null: none
  bool read_only = true;
  bool destructive = false;
  bool idempotent = true;
  bool open_world = false;
  std::function<ToolResult(Server&, Call&, const json& args)> run;
};

// A resource with a fixed URI.
struct Resource {
  std::string uri;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
};

struct Prompt {
  std::string name;
  std::string title;
  std::string description;
  json arguments;                                     // [{name, description, required}]
  std::function<json(Server&, const json& args)> get; // the prompts/get result; throws RpcError
};

// What the adapter serves; kodebase's own catalogue plus, on request, the fixtures.
struct Catalogue {
  std::vector<Tool> tools;
  std::vector<Resource> resources;
  json templates = json::array(); // resourceTemplates entries
  std::vector<Prompt> prompts;
  // resources/read for a URI outside `resources`; nullopt when the URI is not ours.
  std::vector<std::function<std::optional<json>(Server&, const std::string& uri)>> readers;
  // completion/complete values for an argument of a prompt or template; nullopt: not ours.
  std::vector<std::function<std::optional<std::vector<std::string>>(
      Server&, const json& ref, const std::string& argument, const std::string& value)>>
      completers;
};

void add_kodebase_catalogue(Catalogue& c, const Options& options);
void add_kodebase_tools(Catalogue& c);
void add_conformance_fixtures(Catalogue& c);

// The agent-facing text of the workflow resource and the initialize instructions.
std::string_view workflow_text();
std::string_view instructions_text();

// The session with one agent. Handlers call back into it for the daemon, progress, logs and
// requests to the client.
class Server {
public:
  explicit Server(Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves stdin/stdout until stdin ends; the exit code.
  int run();

  // A kodebase API call through the daemon about the project (params.directory and the
  // agent's name are added, and for a method that writes, the actor). Errors keep their kind,
  // message and hint.
  util::Result<json> daemon(std::string_view method, json params);

  // Progress of a call that asked for it: strictly increasing, never after its answer.
  void progress(Call& call, double progress, std::optional<double> total,
                const std::string& message);
  // notifications/message when `level` is at or above the client's level.
  void log(LogLevel level, const json& data);
  // A request to the client (roots, sampling, elicitation) and its result.
  util::Result<json> ask_client(const std::string& method, json params,
                                std::chrono::milliseconds timeout);
  bool client_can(std::string_view capability) const;
  // The negotiated protocol version.
  std::string version() const;

  const Options& options() const { return m_options; }

private:
  struct State;
  Options m_options;
  Catalogue m_catalogue;
  std::unique_ptr<State> m;

  void handle_line(std::string_view line);
  void handle(json message, std::vector<json>* batch_replies);
  std::optional<json> answer(const json& id, const std::string& method, const json& params,
                             Call& call);
  // The MCP methods this server answers (its method table, server.cpp).
  struct Method {
    std::string_view name;
    bool on_reader;   // answered in order on the reader (it changes the session), not off it
    bool before_init; // may come before initialize
    json (*answer)(Server&, const json& params, Call& call);
  };
  static const Method* find_method(std::string_view name);
  json initialize(const json& params);
  void initialized();
  json set_log_level(const json& params);
  json list_tools(const json& params);
  json list_prompts(const json& params);
  json call_tool(const json& params, Call& call);
  json list_page(std::string_view kind, const json& params, const json& items,
                 std::string_view key);
  json list_resources(const json& params);
  json read_resource(const json& params);
  json subscription(const json& params, bool subscribe);
  json get_prompt(const json& params);
  json complete(const json& params);
  void write(const json& message);
  void reply(const json& id, json result);
  void reply_error(const json& id, int code, const std::string& message, json data = nullptr);
  void spawn(std::function<void()> work);
  std::string project_directory();
  void resolve_project();
  void follow_changes();
  void on_change(const std::string& method, const json& params);
  void send_notification(const std::string& method, json params);
};

// Opaque page cursors: `kind` and the offset, so a cursor of one list is refused by another.
std::string make_cursor(std::string_view kind, size_t offset, std::string_view scope = {});
// The offset in a cursor of `kind` (and `scope`), or nullopt when it is not one.
std::optional<size_t> read_cursor(std::string_view kind, std::string_view cursor,
                                  std::string_view scope = {});

// The first problem of `value` against a JSON Schema (the subset tools use: type, enum,
// const, properties, required, additionalProperties, items, min/maxItems, uniqueItems,
// minimum/maximum, min/maxLength, pattern), or nullopt when it conforms.
std::optional<std::string> schema_problem(const json& schema, const json& value,
                                          const std::string& path = "arguments");

} // namespace kb::cli::mcp
