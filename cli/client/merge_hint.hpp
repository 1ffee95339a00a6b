#pragma once

#include <filesystem>

namespace kb::cli::client {

// Tells the user once per clone, on stderr, how to turn on the merge driver when the project
// asks for it (its .gitattributes names `merge=kodebase`) and this clone's git config does not
// have it yet: a clone of someone else's project, before `kodebase hooks install`. Reads two
// small files; says nothing outside a git work tree or when it said so before.
void hint_merge_driver(const std::filesystem::path& directory);

} // namespace kb::cli::client
