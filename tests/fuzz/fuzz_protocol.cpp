// libFuzzer target: the daemon's input path. Bytes are split into frames by the line framer,
// parsed as JSON-RPC (a message the parser takes must keep to the nesting limit, so no deep
// input reaches the handlers' recursive code), and requests for the read-only methods are
// dispatched against a small project (writes are left out: their effects would outlive one
// input). The scanner that passes large replies through is checked against the full JSON
// parser on the same bytes.
#include "core/api/methods.hpp"
#include "core/protocol/framing.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/raw_member.hpp"
#include "core/util/file.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string_view>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* k_initiative = R"yaml(metadata:
  title: "Shop"
  priority: high
  estimation: L
  created_by: "Ada Lovelace (ada@example.com)"
  assignee: "Ada Lovelace (ada@example.com)"
  schema_version: "0.0.1"
  relationships: {blocks: [], blocked_by: []}
  events:
    - event: draft
      timestamp: "2025-01-01T00:00:00Z"
      actor: "Ada Lovelace (ada@example.com)"
      trigger: artifact_created
content:
  vision: "Sell"
  scope: {in: ["x"], out: ["y"]}
  success_criteria: ["z"]
)yaml";

const fs::path& project() {
  static const fs::path root = [] {
    auto dir = fs::temp_directory_path() / ("kb-fuzz-protocol-" + std::to_string(::getpid()));
    fs::create_directories(dir / ".kodebase/artifacts/A.shop");
    (void)kb::util::write_file_atomic(dir / ".kodebase/artifacts/A.shop/A.yml", k_initiative);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::temp_directory_path() / ("kb-fuzz-protocol-" + std::to_string(::getpid())),
                     ec);
    });
    return dir;
  }();
  return root;
}

const std::set<std::string_view> k_read_only = {
    "project.status", "artifacts.list",    "artifacts.get", "artifacts.tree",    "artifacts.log",
    "artifacts.next", "artifacts.context", "config.list",   "artifacts.validate"};

void check_scanner(std::string_view text) {
  auto span = kb::protocol::find_member(text, {"result", "artifacts"});
  auto whole = json::parse(text, nullptr, false);
  if (!span || whole.is_discarded() || !whole.is_object())
    return;
  auto part = json::parse(text.substr(span->offset, span->length), nullptr, false);
  auto it = whole.find("result");
  if (it == whole.end() || !it->is_object() || !it->contains("artifacts"))
    return; // duplicate keys and the like: the parser keeps another one
  if (!part.is_discarded() && part != (*it)["artifacts"] && whole.dump().size() == text.size())
    __builtin_trap(); // the scanner and the parser disagree on a plain document
  // Streamed in pieces, the splitter cuts the same value out (arrays and objects only).
  char first = text[span->offset];
  if (first != '[' && first != '{')
    return;
  std::string streamed;
  kb::protocol::MemberSplitter splitter({"result", "artifacts"},
                                        [&](std::string_view bytes) { streamed += bytes; });
  size_t step = 1 + text.size() % 13;
  for (size_t at = 0; at < text.size(); at += step)
    splitter.feed(text.substr(at, step));
  std::string rest(text);
  rest.replace(span->offset, span->length, "null");
  if (span->offset <= 64 * 1024 &&
      (!splitter.found() || streamed != text.substr(span->offset, span->length) ||
       splitter.rest() != rest))
    __builtin_trap(); // streaming and scanning disagree
}

// Levels of arrays and objects in `value`, counted with an explicit stack.
size_t depth_of(const json& value) {
  size_t deepest = 0;
  std::vector<std::pair<const json*, size_t>> todo{{&value, 0}};
  while (!todo.empty()) {
    auto [v, depth] = todo.back();
    todo.pop_back();
    if (!v->is_structured())
      continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *v)
      todo.emplace_back(&child, depth + 1);
  }
  return deepest;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_scanner(input);
  kb::protocol::LineFramer framer(4096);
  framer.feed(input);
  std::string frame;
  for (int frames = 0; frames < 16; ++frames) {
    auto status = framer.next(frame);
    if (status == kb::protocol::LineFramer::Status::need_more)
      break;
    if (status == kb::protocol::LineFramer::Status::oversized)
      continue;
    auto message = kb::protocol::parse_message(frame);
    if (!message)
      continue;
    auto* request = std::get_if<kb::protocol::Request>(&*message);
    if (request && depth_of(request->params) + 1 > kb::protocol::k_message_limits.max_depth)
      __builtin_trap(); // a message deeper than the limit was taken
    if (!request || !k_read_only.contains(request->method))
      continue;
    if (request->params.is_object()) {
      request->params["directory"] = project().string();
      request->params.erase("fix");
    }
    kb::api::DiskProjectSource projects;
    kb::api::Context ctx{projects, "fuzz"};
    auto reply = kb::api::dispatch(ctx, *request);
    (void)kb::protocol::serialize(reply);
  }
  return 0;
}
