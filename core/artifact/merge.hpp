#pragma once

#include "core/util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

// Three-way merges of one artifact file (base, ours, theirs), on the parsed documents: what
// git's merge driver, `kodebase resolve` and the tests share.
//
// - Event histories are the union of both sides' new events in timestamp order. The same
//   cascade appended on both sides (same event, trigger and cascade_type) is kept once, the
//   earliest; identical events too. Edits of existing events (a blocking dependency resolved)
//   merge like any other field; `blocking_dependencies` merge per dependency.
// - A field changed on one side takes that side's lines; changed to different values on both
//   sides is a conflict: only that entry gets conflict markers.
// - Lists of values (criteria, deliverables, relationships, notes) merge as ordered sets: ours,
//   then what theirs added, without what theirs removed.
// - Everything starts from ours' text: lines neither side changed stay byte-identical, and
//   entries taken from theirs are copied as theirs wrote them.
namespace kb::artifact {

struct MergeOptions {
  int marker_size = 7; // git's %L
  std::string ours_label = "ours", theirs_label = "theirs";
};

struct MergeOutcome {
  std::string text;                   // the merged file, markers where `conflicts` says
  std::vector<std::string> conflicts; // dotted paths changed two ways
  std::vector<std::string> merged;    // dotted paths taken from theirs or merged, for reports
};

// Merges the three texts of one artifact file. `base` may be empty (both sides added the
// file). Fails (kind failed) when a side does not parse or the change cannot be made line by
// line (flow-style collections changed on both sides, say): the caller then falls back to a
// merge of lines.
util::Result<MergeOutcome> merge_artifact_texts(std::string_view base, std::string_view ours,
                                                std::string_view theirs,
                                                const MergeOptions& options = {});

// Whether `text` holds conflict markers (a line starting with seven `<`, `=` or `>`).
bool has_conflict_markers(std::string_view text);

// The two sides of a text with conflict markers (and the base, from diff3-style `|||||||`
// sections, else the lines both sides share): what `resolve` merges when git's index no
// longer has the three versions.
struct ConflictSides {
  std::string base, ours, theirs;
};
ConflictSides split_conflict(std::string_view text);

} // namespace kb::artifact
