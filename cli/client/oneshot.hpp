#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kb::cli::client {

// What a command says when kodebased cannot be reached or run: an unavailable error, with a hint
// when one is given.
util::Error unavailable(std::string message, std::string hint = {});

// The environment `kodebased --oneshot` runs with: ours, plus glibc's `malloc.hugetlb` tunable.
std::vector<std::string> oneshot_environment();

// The kodebased binary: $KODEBASE_DAEMON_BIN, else next to this executable, else on PATH.
std::optional<std::filesystem::path> find_daemon_binary();

// Takes a reply piece by piece as it arrives, for callers that pass large replies on.
using ReplySink = std::function<void(std::string_view)>;

// Sends one request to a `kodebased --oneshot` child and returns its reply line, or an
// unavailable error when the child could not be run or gave no reply. With a sink, the reply
// goes there as it arrives and "" is returned.
util::Result<std::string> exchange_oneshot(std::string_view method, const nlohmann::json& params,
                                           const ReplySink* sink = nullptr);

// The result of a reply line, or the error the server replied with (kind recovered from the
// reply), or an unavailable error when the line is not a reply.
util::Result<nlohmann::json> parse_reply(std::string_view line);

} // namespace kb::cli::client
