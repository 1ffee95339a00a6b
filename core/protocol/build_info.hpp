#pragma once
// What this binary is: the release version and the build (the git commit it was configured at).
// The CLI and the daemon compare builds in `hello`, and replace a daemon of another build. The
// values live in one generated source file, so a new commit recompiles that file alone.
#include <string_view>

namespace kb::protocol {

std::string_view version();
std::string_view build_id();

} // namespace kb::protocol
