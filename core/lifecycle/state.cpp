#include "core/lifecycle/state.hpp"

#include <algorithm>
#include <array>

namespace kb::lifecycle {

namespace {

constexpr std::array k_states = {State::draft,       State::ready,     State::blocked,
                                 State::in_progress, State::in_review, State::completed,
                                 State::cancelled,   State::archived};

constexpr std::array k_triggers = {
    Trigger::artifact_created,     Trigger::dependencies_met, Trigger::has_dependencies,
    Trigger::branch_created,       Trigger::pr_ready,         Trigger::pr_merged,
    Trigger::dependency_completed, Trigger::children_started, Trigger::children_completed,
    Trigger::parent_completed,     Trigger::parent_archived,  Trigger::manual_cancel};

constexpr std::array k_draft_triggers = {Trigger::artifact_created};
constexpr std::array k_ready_triggers = {Trigger::dependencies_met, Trigger::dependency_completed};
constexpr std::array k_blocked_triggers = {Trigger::has_dependencies};
constexpr std::array k_in_progress_triggers = {Trigger::branch_created, Trigger::children_started};
constexpr std::array k_in_review_triggers = {Trigger::pr_ready, Trigger::children_completed};
constexpr std::array k_completed_triggers = {Trigger::pr_merged};
constexpr std::array k_cancelled_triggers = {Trigger::manual_cancel};
constexpr std::array k_archived_triggers = {Trigger::parent_completed, Trigger::parent_archived};

} // namespace

std::string_view to_string(State s) {
  switch (s) {
  case State::draft: return "draft";
  case State::ready: return "ready";
  case State::blocked: return "blocked";
  case State::in_progress: return "in_progress";
  case State::in_review: return "in_review";
  case State::completed: return "completed";
  case State::cancelled: return "cancelled";
  case State::archived: return "archived";
  }
  return "draft";
}

std::string_view to_string(Trigger t) {
  switch (t) {
  case Trigger::artifact_created: return "artifact_created";
  case Trigger::dependencies_met: return "dependencies_met";
  case Trigger::has_dependencies: return "has_dependencies";
  case Trigger::branch_created: return "branch_created";
  case Trigger::pr_ready: return "pr_ready";
  case Trigger::pr_merged: return "pr_merged";
  case Trigger::dependency_completed: return "dependency_completed";
  case Trigger::children_started: return "children_started";
  case Trigger::children_completed: return "children_completed";
  case Trigger::parent_completed: return "parent_completed";
  case Trigger::parent_archived: return "parent_archived";
  case Trigger::manual_cancel: return "manual_cancel";
  }
  return "artifact_created";
}

std::optional<State> state_from_string(std::string_view name) {
  for (State s : k_states)
    if (to_string(s) == name)
      return s;
  return std::nullopt;
}

std::optional<Trigger> trigger_from_string(std::string_view name) {
  for (Trigger t : k_triggers)
    if (to_string(t) == name)
      return t;
  return std::nullopt;
}

std::span<const State> all_states() {
  return k_states;
}
std::span<const Trigger> all_triggers() {
  return k_triggers;
}

bool is_terminal(State s) {
  return s == State::completed || s == State::cancelled || s == State::archived;
}

std::vector<State> valid_transitions(artifact::ArtifactType, State from) {
  // The table is the same for every type once draft → blocked is allowed for all of them.
  // ready → blocked is kodebase's: a ready artifact linked to an unfinished blocker records
  // the wait (has_dependencies) rather than staying "ready" while it cannot start. Upstream's
  // table lacks it, but its validator does not replay the table, so the files stay readable.
  switch (from) {
  case State::draft: return {State::ready, State::blocked, State::cancelled};
  case State::blocked: return {State::ready, State::cancelled};
  case State::ready: return {State::in_progress, State::blocked, State::cancelled};
  case State::in_progress: return {State::in_review, State::cancelled};
  case State::in_review: return {State::completed, State::cancelled};
  case State::completed: return {};
  case State::cancelled: return {State::draft, State::archived};
  case State::archived: return {};
  }
  return {};
}

bool can_transition(artifact::ArtifactType type, State from, State to) {
  auto next = valid_transitions(type, from);
  return std::find(next.begin(), next.end(), to) != next.end();
}

std::span<const Trigger> triggers_for(State s) {
  switch (s) {
  case State::draft: return k_draft_triggers;
  case State::ready: return k_ready_triggers;
  case State::blocked: return k_blocked_triggers;
  case State::in_progress: return k_in_progress_triggers;
  case State::in_review: return k_in_review_triggers;
  case State::completed: return k_completed_triggers;
  case State::cancelled: return k_cancelled_triggers;
  case State::archived: return k_archived_triggers;
  }
  return {};
}

bool trigger_allowed(State s, Trigger t) {
  auto allowed = triggers_for(s);
  return std::find(allowed.begin(), allowed.end(), t) != allowed.end();
}

} // namespace kb::lifecycle
