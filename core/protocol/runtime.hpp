#pragma once

#include <filesystem>
#include <optional>
#include <string>

// Where the kodebase client and daemon meet: the per-user runtime directory and the files in
// it. Both sides resolve it the same way, so this lives with the protocol.
namespace kb::protocol {

struct RuntimePaths {
  std::filesystem::path dir;    // 0700, owned by us
  std::filesystem::path socket; // daemon.sock
  std::filesystem::path lock;   // daemon.lock, held by the daemon for its whole life
  std::filesystem::path github; // github.sock: the GitHub API over plain HTTP/1.1
};

// $KODEBASE_RUNTIME_DIR, else $XDG_RUNTIME_DIR/kodebase, else /tmp/kodebase-<uid>. With
// `create`, a missing directory is made 0700. The directory must be a real directory (not a
// symlink) owned by the effective uid with no group or other access; otherwise, or when the
// socket path would not fit a sockaddr_un, `error` says why and nullopt is returned.
std::optional<RuntimePaths> runtime_paths(bool create, std::string& error);

// $XDG_STATE_HOME/kodebase (default ~/.local/state/kodebase): the daemon's log and what it
// remembers across restarts.
std::filesystem::path state_dir();

// $XDG_CACHE_HOME/kodebase (default ~/.cache/kodebase): what may be thrown away, like the
// cache of GitHub answers.
std::filesystem::path cache_dir();

} // namespace kb::protocol
