#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string_view>

namespace kb::cli::client {

// The kodebased binary: $KODEBASE_DAEMON_BIN, else next to this executable, else on PATH.
std::optional<std::filesystem::path> find_daemon_binary();

// Sends one request to a `kodebased --oneshot` child and returns its result, or the error the
// server replied with (kind recovered from the reply), or an unavailable error when the child
// could not be run or gave no reply.
util::Result<nlohmann::json> call_oneshot(std::string_view method, const nlohmann::json& params);

} // namespace kb::cli::client
