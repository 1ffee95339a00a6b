#pragma once

#include "core/util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace kb::util {

// Reads a whole file; fails with kind io (or not_found when it does not exist).
Result<std::string> read_file(const std::filesystem::path& path);

// Replaces `path` with `contents` atomically: a temporary file in the same directory is
// written, fsync'ed and renamed over the target, so readers see the old or the new file,
// never a torn one. The directory is fsync'ed after the rename.
Status write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                         unsigned mode = 0644);

// Walks up from `start` (inclusive) to the first directory that contains `marker` as a
// directory; returns that directory or nullopt.
std::optional<std::filesystem::path> find_upwards(const std::filesystem::path& start,
                                                  std::string_view marker);

// `path` relative to `base` when it lies beneath it, else `path` unchanged.
std::string relative_display(const std::filesystem::path& path, const std::filesystem::path& base);

} // namespace kb::util
