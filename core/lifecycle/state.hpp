#pragma once

#include "core/artifact/id.hpp"

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace kb::lifecycle {

// The eight lifecycle states; an artifact's state is the `event` of its last event.
enum class State { draft, ready, blocked, in_progress, in_review, completed, cancelled, archived };

// The twelve triggers that may cause an event.
enum class Trigger {
  artifact_created,
  dependencies_met,
  has_dependencies,
  branch_created,
  pr_ready,
  pr_merged,
  dependency_completed,
  children_started,
  children_completed,
  parent_completed,
  parent_archived,
  manual_cancel,
};

std::string_view to_string(State s);
std::string_view to_string(Trigger t);
std::optional<State> state_from_string(std::string_view name);
std::optional<Trigger> trigger_from_string(std::string_view name);

std::span<const State> all_states();
std::span<const Trigger> all_triggers();

// completed, cancelled and archived: no further work happens.
bool is_terminal(State s);

// States reachable from `from` for an artifact of `type` (draft → blocked is allowed for every
// type: it is the documented creation flow).
std::vector<State> valid_transitions(artifact::ArtifactType type, State from);
bool can_transition(artifact::ArtifactType type, State from, State to);

// Triggers that may accompany an event of state `s`.
std::span<const Trigger> triggers_for(State s);
bool trigger_allowed(State s, Trigger t);

} // namespace kb::lifecycle
