#pragma once

#include "core/api/context.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/lifecycle/transition.hpp"
#include "core/validate/finding.hpp"

namespace kb::api {

// The list entry of an artifact: id, type, title, state, priority, estimation, assignee,
// parent, path, blocked_by, blocks, updated.
json summary_json(const LoadedProject& p, const artifact::Artifact& a);
// summary_json as compact text, computed once per artifact and kept with it.
const std::string& summary_text(const LoadedProject& p, const artifact::Artifact& a);

// The whole artifact: the summary fields, readiness and blocking reasons, and the document's
// top-level keys (metadata, content, notes, completion blocks and any unknown keys).
json full_json(const LoadedProject& p, const artifact::Artifact& a);

json reasons_json(const std::vector<lifecycle::BlockingReason>& reasons);

json event_json(const artifact::EventRecord& e);

// The events a write appended: {id, from, to, trigger, cascade, note}.
json planned_events_json(const std::vector<lifecycle::PlannedEvent>& events);

// Files that could not be read: {path, line, column, code, message}.
json problems_json(const LoadedProject& p);

// Up to `limit` (0 = all) suggestions of next work, each a summary plus startable and hint.
json next_json(const LoadedProject& p, size_t limit);

json finding_json(const repo::Project& project, const validate::Finding& f);

} // namespace kb::api
