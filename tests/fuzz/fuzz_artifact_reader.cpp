// libFuzzer target: any bytes given to the artifact reader yield an artifact or a reported
// problem, never a crash, hang or sanitizer report; and whenever the fast YAML reader accepts
// an input, the full parser must accept it too and build the same tree.
#include "core/artifact/index.hpp"
#include "core/artifact/yaml_fast.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto id = *kb::artifact::ArtifactId::parse("A.1.1");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto read = kb::artifact::read_artifact_text(id, "/fuzz/A.1.1.yml", text);
  if (auto* a = std::get_if<kb::artifact::Artifact>(&read))
    // Serialised as the server does: invalid UTF-8 replaced, never thrown.
    (void)a->document.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
