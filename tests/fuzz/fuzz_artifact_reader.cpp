// libFuzzer target: any bytes given to the artifact reader yield an artifact or a reported
// problem, never a crash, hang or sanitizer report.
#include "core/artifact/index.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto id = *kb::artifact::ArtifactId::parse("A.1.1");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto read = kb::artifact::read_artifact_text(id, "/fuzz/A.1.1.yml", text);
  if (auto* a = std::get_if<kb::artifact::Artifact>(&read))
    // Serialised as the server does: invalid UTF-8 replaced, never thrown.
    (void)a->document.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
