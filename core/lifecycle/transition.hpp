#pragma once

#include "core/artifact/edit.hpp"
#include "core/artifact/index.hpp"
#include "core/lifecycle/state.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kb::lifecycle {

// The state changes a user can ask for.
enum class Action { ready, start, submit, complete, cancel, block, archive };

std::string_view to_string(Action a);
std::optional<Action> action_from_string(std::string_view name);

// Who acts, when, and what extra they supply.
struct TransitionRequest {
  Action action = Action::start;
  artifact::ArtifactId id;
  std::string actor;                   // validated actor form
  std::string timestamp;               // YYYY-MM-DDTHH:MM:SSZ
  std::string reason;                  // cancel, archive
  nlohmann::json completion = nullptr; // complete: the completion block to add, when missing
  nlohmann::json metadata = nullptr;   // the event's metadata (submit: pr_number, pr_branch…)
  bool cascade = false;                // cancel: the open dependents are cancelled too
};

// One event the plan appends.
struct PlannedEvent {
  std::string id;
  std::string from;
  std::string to;
  std::string trigger;
  bool cascade = false; // caused by another change, not asked for
  std::string note;     // e.g. "dependency A.1.2 resolved"
};

// Everything a transition and its cascades would change, with the new file texts.
struct Plan {
  std::vector<PlannedEvent> events;
  std::map<std::filesystem::path, std::string> files; // path → new text
  std::vector<std::string> notes; // impact report lines (cancel) and no-op explanations
  bool noop = false;              // nothing to do (e.g. already started)
};

// Plans `request` against `index`: checks the transition table and readiness, appends the
// event with its trigger and runs the cascades (progress up to the initiative on start;
// dependency resolution, readiness of dependents and archival of cancelled descendants on
// complete; the guard on cancel, and with `cascade` the cancel of every open dependent,
// transitively; the closed-subtree rule on archive).
// Refusals fail with kind `failed`, saying why and what would make it possible. Nothing is
// written.
util::Result<Plan> plan_transition(const artifact::ArtifactIndex& index,
                                   const TransitionRequest& request);

// What a change of `a`'s dependencies does to its state, written into `edits` (whose
// relationship lists already changed): a ready artifact linked to an unfinished blocker becomes
// blocked with the blocker tracked (upstream's has_dependencies); a blocked one tracks it too.
// Unlinking a tracked blocker resolves it, and a blocked artifact left with nothing open
// becomes ready. Returns the events appended.
util::Result<std::vector<PlannedEvent>>
dependency_events(artifact::EditSet& edits, const artifact::ArtifactIndex& index,
                  const artifact::Artifact& a, const std::vector<std::string>& linked,
                  const std::vector<std::string>& unlinked, const std::string& actor,
                  const std::string& timestamp);

} // namespace kb::lifecycle
