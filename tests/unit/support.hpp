#pragma once

#include "core/artifact/index.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace kb::test {

// Path of a file under tests/fixtures/.
inline std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(KODEBASE_FIXTURES) / relative;
}

// A fresh directory removed at scope exit.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kb-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    m_path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

// The text of a valid artifact of the type `id` implies, with optional extra metadata lines
// (relationships, events) spliced in.
std::string valid_yaml(const std::string& id, const std::string& relationships = "",
                       const std::string& extra_events = "");

// An index built from ID → YAML text (files named after the IDs under /virtual).
artifact::ArtifactIndex index_of(const std::map<std::string, std::string>& files);

// The one artifact read from `text` as `id`; fails the test when it does not parse.
artifact::Artifact artifact_of(const std::string& id, const std::string& text);

} // namespace kb::test
