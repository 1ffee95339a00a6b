#pragma once

#include "core/artifact/index.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace kb::query {

enum class SortKey { id, priority, state, updated };

// Which artifacts to list. Empty lists match everything.
struct Filter {
  std::vector<std::string> states;
  std::vector<artifact::ArtifactType> types;
  std::vector<std::string> assignees; // case-insensitive substring of the assignee
  std::vector<std::string> priorities;
  std::optional<artifact::ArtifactId> parent; // the subtree strictly below this ID
  bool ready = false;                         // only artifacts that can be worked on now
  bool blocked = false;                       // only artifacts waiting on something
  std::string text;                           // case-insensitive, in title and content
  SortKey sort = SortKey::id;
  bool reverse = false;
  size_t offset = 0; // matches skipped before the first one returned (paging)
  size_t limit = 0;  // 0 = no limit
};

// Reads a Filter from request params (`state`, `type`, `assignee`, `priority`: string or list;
// `parent`, `text`, `sort`: strings; `ready`, `blocked`, `reverse`: bools; `offset`, `limit`:
// numbers).
// Unknown values fail with invalid_argument and name the allowed ones.
util::Result<Filter> parse_filter(const nlohmann::json& params);

// The artifacts that match, sorted, from `offset` on and at most `limit`; `matched` (when
// given) receives how many match in all.
std::vector<const artifact::Artifact*> select(const artifact::ArtifactIndex& index,
                                              const Filter& filter, size_t* matched = nullptr);

// Case-insensitive substring test.
bool contains_folded(std::string_view haystack, std::string_view needle);

} // namespace kb::query
