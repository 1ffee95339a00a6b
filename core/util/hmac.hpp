#pragma once

#include <string>
#include <string_view>

namespace kb::util {

// HMAC-SHA-256 of `data` under `key`, as lower-case hex (64 digits): the webhook signature,
// the team relay's envelope signature and the GitHub cache's token partition names.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// SHA-256 of `data`, as lower-case hex (64 digits): what a file held, in the write journal.
std::string sha256_hex(std::string_view data);

} // namespace kb::util
