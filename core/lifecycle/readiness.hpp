#pragma once

#include "core/artifact/index.hpp"
#include "core/lifecycle/state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kb::lifecycle {

// The current state: the last event's state; draft when there are no events; nullopt when the
// last event names no known state.
std::optional<State> current_state(const artifact::Artifact& a);

// The state for display and filtering: the last event text, or "draft" with no events.
std::string state_name(const artifact::Artifact& a);

// Whether the artifact has had an event of state `s` at any point.
bool ever_in(const artifact::Artifact& a, State s);

// Whether a blocker no longer holds its dependents back: completed at some point, or cancelled
// (or archived after that) — the spec's start precondition counts a cancelled blocker as done.
bool blocker_done(const artifact::Artifact& blocker);

enum class ReasonType { incomplete_dependencies, incomplete_parent, invalid_state };
std::string_view to_string(ReasonType t);

// Why an artifact cannot be worked on now, with the artifacts involved.
struct BlockingReason {
  ReasonType type;
  std::string message;
  std::vector<std::string> related;
};

// True when some `blocked_by` artifact is not done (blocker_done; unknown IDs are skipped).
bool is_blocked(const artifact::ArtifactIndex& index, const artifact::Artifact& a);

// True when an ancestor is blocked or cancelled (ancestor gating; missing parents allowed).
bool ancestor_blocked_or_cancelled(const artifact::ArtifactIndex& index,
                                   const artifact::Artifact& a);

// Every reason the artifact cannot be started now; empty means ready (its state is `ready`
// and nothing holds it). Terminal states give only invalid_state; draft, blocked without
// open blockers, in_progress and in_review give an invalid_state reason besides any other. Parents
// gate an artifact once it has been ready: each ancestor must then be ready or in_progress.
std::vector<BlockingReason> blocking_reasons(const artifact::ArtifactIndex& index,
                                             const artifact::Artifact& a);

bool is_ready(const artifact::ArtifactIndex& index, const artifact::Artifact& a);

// Whether a live (non-terminal) artifact is held up: in state blocked, or some blocked_by
// artifact is unfinished. What `list --blocked` and the status dashboard show.
bool is_waiting(const artifact::ArtifactIndex& index, const artifact::Artifact& a);

// One suggestion of `next`.
struct NextItem {
  const artifact::Artifact* artifact;
  bool startable; // in state ready with nothing in the way: `start` would succeed
  std::string hint;
};

// Work to pick up next: issues that are not terminal, not already under way, not waiting on
// dependencies and not under a blocked, cancelled or finished ancestor. Startable issues come
// first, then by priority (critical first), then by ID.
std::vector<NextItem> next_work(const artifact::ArtifactIndex& index);

// The open issues next_work leaves out because a dependency or an ancestor holds them up,
// critical first.
std::vector<const artifact::Artifact*> held_work(const artifact::ArtifactIndex& index);

// Sort weight of a priority: critical 4 … low 1; unknown values 0.
int priority_weight(std::string_view priority);

} // namespace kb::lifecycle
