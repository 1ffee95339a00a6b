#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kb::cli::client {

// The environment kodebased runs with: ours, plus glibc's `malloc.hugetlb` tunable.
std::vector<std::string> daemon_environment();

// The kodebased binary: $KODEBASE_DAEMON_BIN, else next to this executable, else on PATH.
std::optional<std::filesystem::path> find_daemon_binary();

// Sends one request to a `kodebased --oneshot` child and returns its reply line, or an
// unavailable error when the child could not be run or gave no reply.
util::Result<std::string> exchange_oneshot(std::string_view method, const nlohmann::json& params);

// The result of a reply line, or the error the server replied with (kind recovered from the
// reply), or an unavailable error when the line is not a reply.
util::Result<nlohmann::json> parse_reply(std::string_view line);

} // namespace kb::cli::client
