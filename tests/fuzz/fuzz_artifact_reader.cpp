// libFuzzer target: any bytes given to the artifact reader yield an artifact or a reported
// problem, never a crash, hang or sanitizer report; what it reads renders as `list --json` and
// `show --json` do, with strict serialisation (bytes that are not UTF-8 must never reach it);
// aliases cannot make the tree much larger than its text; and whenever the fast YAML reader
// accepts an input, the full parser must accept it too and build the same tree.
#include "core/api/render_json.hpp"
#include "core/artifact/index.hpp"
#include "core/artifact/yaml_fast.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

// Nodes in a tree, counted with an explicit stack.
size_t nodes_of(const kb::artifact::YamlNode& root) {
  size_t n = 0;
  std::vector<const kb::artifact::YamlNode*> todo{&root};
  while (!todo.empty()) {
    const auto* node = todo.back();
    todo.pop_back();
    ++n;
    for (const auto& item : node->items)
      todo.push_back(&item);
    for (const auto& e : node->entries)
      todo.push_back(&e.value);
  }
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto id = *kb::artifact::ArtifactId::parse("A.1.1");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto read = kb::artifact::read_artifact_text(id, "/fuzz/.kodebase/artifacts/A.1.1.yml", text);
  if (auto* a = std::get_if<kb::artifact::Artifact>(&read)) {
    // An alias bomb would be a tree far larger than its text.
    if (nodes_of(a->document) > 2 * size + 10002) {
      std::fprintf(stderr, "%zu bytes read as %zu nodes\n", size, nodes_of(a->document));
      std::abort();
    }
    // Rendered as the server does, serialised strictly: a type_error here is a crash.
    kb::api::LoadedProject p;
    p.project.root = "/fuzz";
    (void)kb::api::summary_json(p, *a).dump();
    (void)kb::api::full_json(p, *a).dump();
  }
  if (auto fast = kb::artifact::parse_yaml_fast(text)) {
    auto full = kb::artifact::parse_yaml_full(text);
    std::string why =
        "the full parser rejects it: " + (full ? std::string() : full.error().message);
    if (!full || !kb::artifact::same_tree(*fast, *full, why)) {
      std::fprintf(stderr, "fast and full YAML readers disagree: %s\n", why.c_str());
      std::abort();
    }
  }
  return 0;
}
