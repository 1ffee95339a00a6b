#pragma once

#include "core/artifact/yaml.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kb::validate {

enum class Severity { error, warning };

// lenient: upstream-tolerated deviations (old actor forms, legacy scope shapes, fractional
// timestamps, missing relationships) are warnings. strict: the v1 rules, all errors.
enum class Mode { lenient, strict };

// One rule violation, located as precisely as the file allows.
struct Finding {
  std::string id; // artifact ID, or "" for a file that names none
  std::filesystem::path path;
  Severity severity = Severity::error;
  std::string code;    // stable, e.g. CIRCULAR_DEPENDENCY, too_small
  std::string message; // what is wrong
  std::string field;   // e.g. metadata.events[2].trigger; "" for the whole file
  artifact::Mark mark; // 0:0 when unknown
  std::string fix;     // what to do about it
};

// The result of validating a set of artifacts.
struct Report {
  size_t artifacts = 0;
  std::vector<Finding> findings;

  size_t count(Severity s) const;
  bool valid() const { return count(Severity::error) == 0; }
};

std::string_view to_string(Severity s);

} // namespace kb::validate
