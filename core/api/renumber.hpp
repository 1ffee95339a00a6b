#pragma once

#include "core/api/context.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kb::api {

// What renumbering one artifact changes: its file (for a milestone or an initiative, its
// folder with every descendant's file) under new names, the references to the renamed IDs
// rewritten, and the renumbering recorded in the artifact's last event.
struct RenumberPlan {
  std::map<std::filesystem::path, std::string> writes; // new or rewritten files
  std::vector<std::filesystem::path> removals;         // old names of moved files
  std::vector<std::filesystem::path> old_folders;      // removed once empty
  std::map<std::string, std::string> renamed;          // old ID → new ID
  std::vector<std::string> rewritten;                  // IDs of artifacts whose references changed
  std::vector<std::string> ambiguous;                  // references left: they may mean the twin
};

// Plans the renumbering of `a` (one of the project's artifacts or duplicates) to `to`, a free
// ID under the same parent. With `duplicate`, `a` shares its ID with another file: a reference
// elsewhere is rewritten only when the merge commit (HEAD) shows it was made on the side that
// had only `a`; those git cannot tell apart are left and listed in `ambiguous`.
util::Result<RenumberPlan> plan_renumber(const LoadedProject& p, const artifact::Artifact& a,
                                         const artifact::ArtifactId& to, bool duplicate);

// Writes a plan in one transaction (the caller holds the write lock), then removes the old
// folders it emptied.
util::Status apply_renumber(const repo::Project& project, const RenumberPlan& plan);

// Of two files with one ID, the one to renumber: the one created later (its first event), the
// later path on a tie.
const artifact::Artifact* later_of_duplicates(const artifact::ArtifactIndex& index,
                                              const artifact::ArtifactId& id);

} // namespace kb::api
