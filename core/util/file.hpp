#pragma once

#include "core/util/result.hpp"

#include <cstdint>
#include <dirent.h>
#include <filesystem>
#include <string>
#include <string_view>

namespace kb::util {

// What read_file accepts besides a regular file's bytes.
struct ReadOptions {
  std::uintmax_t max_bytes = 64ull << 20; // a larger file fails (details.reason "too_large")
  bool follow_links = true;               // false: a symbolic link fails (details.reason "link")
};

// Reads a whole regular file. Never blocks on what is not one: a FIFO, device, socket or
// folder fails at once (details.reason "not_regular"), before anything is read from it.
// Fails with kind not_found when the path does not exist, else kind io naming the path.
Result<std::string> read_file(const std::filesystem::path& path, const ReadOptions& options = {});

// An io error "WHAT: the text of errno", for a system call that just failed.
Error errno_error(std::string_view what);

// What a file system entry is, for messages: "a FIFO", "a device", "a folder"…
std::string_view describe_file_type(unsigned mode);

// Replaces `path` with `contents` atomically: a temporary file in the same directory is
// written, fsync'ed and renamed over the target, so readers see the old or the new file,
// never a torn one. The directory is fsync'ed after the rename.
Status write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                         unsigned mode = 0644);

// Opens the folder `name` relative to the descriptor `parent` (AT_FDCWD: the working directory)
// for readdir, never through a symbolic link; nullptr when it cannot. Close with closedir.
DIR* open_directory_at(int parent, const char* name);

// Creates `dir` and any missing parents with mode 0700 (private state: logs, snapshots,
// secrets), and makes `dir` itself 0700 when it existed with a wider mode. Best effort.
void create_private_directories(const std::filesystem::path& dir);

// Walks up from `start` (inclusive) to the first directory that contains `marker` as a
// directory; returns that directory or nullopt.
std::optional<std::filesystem::path> find_upwards(const std::filesystem::path& start,
                                                  std::string_view marker);

// `path` relative to `base` when it lies beneath it, else `path` unchanged.
std::string relative_display(const std::filesystem::path& path, const std::filesystem::path& base);

} // namespace kb::util
