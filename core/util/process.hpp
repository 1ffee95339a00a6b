#pragma once

#include "core/util/result.hpp"

#include <string>
#include <vector>

namespace kb::util {

// What a finished child process printed and how it ended.
struct ProcessOutput {
  int exit_code = -1; // -1 when killed by a signal
  std::string out;
};

// Runs `argv` (looked up on PATH) with stdin from /dev/null, capturing stdout (and stderr
// with it when `with_stderr`, else discarded). Fails only when the program cannot be started.
Result<ProcessOutput> run_capture(const std::vector<std::string>& argv, bool with_stderr = false);

} // namespace kb::util
