#pragma once

#include "core/repo/lock.hpp"
#include "core/repo/project.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kb::repo {

// Files written together or not at all.
//
// How: the journal `.kodebase/.journal` first lists, for each file, its temporary (a
// dot-named file next to it, `.<name>.kb-tmp`; the lock makes one writer the only user of
// these names), the file, and hashes of what the file holds now and of what it will hold.
// Every new content goes to its temporary and is fsync'ed; a `commit` line is appended to
// the journal and fsync'ed: that is the commit point. The renames follow, then the journal
// is emptied (the file stays, so committing never has to sync its directory).
//
// A writer killed before the commit point leaves an intent whose temporaries are deleted. One
// killed after it leaves a change that is finished only if every file still holds what the
// change was computed from (or, already renamed, what it wrote): after a hand edit or a
// branch switch it is discarded instead, with a warning, and no file is overwritten. Readers
// (ReadLock) and writers (WriteLock) settle it, whichever comes first. An empty journal means
// nothing to recover, so taking a lock never walks the tree.
class Transaction {
public:
  void put(std::filesystem::path target, std::string contents);
  // Deletes `target` with the rest (a renumbered artifact's old file).
  void remove(std::filesystem::path target);
  bool empty() const { return m_files.empty(); }
  // Writes everything; the caller must hold the WriteLock.
  util::Status commit(const Project& project);
  // For tests: goes as far as the commit point and `renames` of the renames, then stops as
  // a writer killed there would (the journal and the remaining temporaries stay).
  util::Status commit_interrupted(const Project& project, size_t renames);

private:
  util::Status run(const Project& project, size_t renames);
  // Each file and its new contents (nullopt: deleted).
  std::vector<std::pair<std::filesystem::path, std::optional<std::string>>> m_files;
};

// Finishes or discards an interrupted transaction, and removes kodebase's stray temporaries
// from `.kodebase/` and its config folder. The caller holds the WriteLock (acquire calls it).
// What it did is reported through util::warn.
util::Status recover(const Project& project);

} // namespace kb::repo
