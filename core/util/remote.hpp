#pragma once

#include <string>
#include <string_view>

namespace kb::util {

// The repository a remote URL names, as "owner/name" with its case kept (https, ssh or
// scp-like forms, any host: GitHub Enterprise paths may carry a prefix, the last two segments
// count); "" when it names none.
std::string remote_repository(std::string_view url);
// The host of a remote URL ("github.com"; "" for a local path).
std::string remote_host(std::string_view url);

} // namespace kb::util
