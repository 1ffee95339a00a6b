#include "core/validate/rules.hpp"

#include "core/lifecycle/state.hpp"
#include "core/util/time.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::validate {

using artifact::YamlNode;
using lifecycle::State;

namespace {

bool is_lower_alnum_dash(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

bool is_alpha(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
      return false;
  return true;
}

// `Name (local@domain)`: the name has no parentheses and ends before one space.
bool split_human(std::string_view actor, std::string_view& email) {
  auto open = actor.find(" (");
  if (open == std::string_view::npos || open == 0 || actor.back() != ')')
    return false;
  auto name = actor.substr(0, open);
  email = actor.substr(open + 2, actor.size() - open - 3);
  if (name.find_first_of("()") != std::string_view::npos ||
      email.find_first_of("() \t") != std::string_view::npos)
    return false;
  auto at = email.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string_view::npos;
}

std::string known_states() {
  std::vector<std::string_view> names;
  for (State s : lifecycle::all_states())
    names.push_back(lifecycle::to_string(s));
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string triggers_text(State s) {
  std::vector<std::string_view> names;
  for (auto t : lifecycle::triggers_for(s))
    names.push_back(lifecycle::to_string(t));
  return fmt::format("{}", fmt::join(names, " or "));
}

// Checks the fields of one event; returns its state when known.
std::optional<State> check_event(Sink& sink, const YamlNode& ev, const std::string& path) {
  const YamlNode* event = ev.find("event");
  std::optional<State> state = State::draft; // the schema default when absent
  if (event) {
    state = event->is_scalar() ? lifecycle::state_from_string(event->scalar) : std::nullopt;
    if (!state)
      sink.error("EVENT_TYPE_INVALID", path + ".event", event->mark,
                 fmt::format("event '{}' is not a state", event->is_scalar() ? event->scalar : ""),
                 fmt::format("use one of: {}", known_states()));
  }
  const YamlNode* ts = ev.find("timestamp");
  if (!ts || !ts->is_scalar()) {
    sink.error("TIMESTAMP_INVALID", path + ".timestamp", ts ? ts->mark : ev.mark,
               fmt::format("{}.timestamp is required", path),
               "add `timestamp: \"YYYY-MM-DDTHH:MM:SSZ\"` (UTC)");
  } else if (!util::parse_utc_strict(ts->scalar)) {
    bool readable = util::parse_utc_lenient(ts->scalar).has_value();
    auto message = fmt::format("timestamp '{}' is not YYYY-MM-DDTHH:MM:SSZ", ts->scalar);
    auto fix = std::string("write UTC with whole seconds, e.g. \"2025-10-30T14:37:00Z\"");
    if (readable)
      sink.tolerated("TIMESTAMP_INVALID", path + ".timestamp", ts->mark, message, fix);
    else
      sink.error("TIMESTAMP_INVALID", path + ".timestamp", ts->mark, message, fix);
  }
  check_actor(sink, ev.find("actor"), path + ".actor", ev.mark);
  const YamlNode* trigger = ev.find("trigger");
  if (!trigger || !trigger->is_scalar()) {
    sink.error("TRIGGER_INVALID", path + ".trigger", trigger ? trigger->mark : ev.mark,
               fmt::format("{}.trigger is required", path),
               state ? fmt::format("add `trigger: {}`", triggers_text(*state))
                     : std::string("add a trigger"));
  } else if (auto t = lifecycle::trigger_from_string(trigger->scalar); !t) {
    sink.error("TRIGGER_INVALID", path + ".trigger", trigger->mark,
               fmt::format("trigger '{}' is not a known trigger", trigger->scalar),
               state ? fmt::format("a {} event uses {}", lifecycle::to_string(*state),
                                   triggers_text(*state))
                     : std::string("see `kodebase help validate` for the triggers"));
  } else if (state && !lifecycle::trigger_allowed(*state, *t)) {
    // Older tools wrote some (the Kodebase team's own files have `ready` by `pr_merged`): a
    // warning, an error with --strict, like the other tolerated older forms.
    sink.tolerated(
        "TRIGGER_EVENT_MISMATCH", path + ".trigger", trigger->mark,
        fmt::format("trigger '{}' cannot cause a {} event", trigger->scalar,
                    lifecycle::to_string(*state)),
        fmt::format("a {} event uses {}", lifecycle::to_string(*state), triggers_text(*state)));
  }
  if (const YamlNode* meta = ev.find("metadata"); meta && !meta->is_mapping() && !meta->is_null())
    sink.error("invalid_type", path + ".metadata", meta->mark,
               fmt::format("{}.metadata must be a mapping", path), "write metadata as key: value");
  return state;
}

void check_blocking_dependencies(Sink& sink, const YamlNode& ev, const std::string& path) {
  const auto& a = sink.artifact();
  const YamlNode* meta = ev.find("metadata");
  const YamlNode* deps = meta ? meta->find("blocking_dependencies") : nullptr;
  if (!deps || !deps->is_sequence() || deps->items.empty()) {
    sink.error("BLOCKING_DEPENDENCIES_MISSING", path + ".metadata.blocking_dependencies",
               deps ? deps->mark : ev.mark, "a blocked event must list its blocking_dependencies",
               "add metadata.blocking_dependencies: [{artifact_id: <ID>, resolved: false}]");
    return;
  }
  for (size_t i = 0; i < deps->items.size(); ++i) {
    const YamlNode& d = deps->items[i];
    auto dpath = fmt::format("{}.metadata.blocking_dependencies[{}]", path, i);
    std::string id = artifact::scalar_text(d.find("artifact_id"));
    if (id.empty()) {
      sink.error("invalid_type", dpath + ".artifact_id", d.mark,
                 fmt::format("{}.artifact_id is required", dpath), "name the blocking artifact");
      continue;
    }
    // A resolved dependency is history: the link may since have been removed (an unlink of a
    // cancelled blocker). An open one must still be a link.
    bool resolved = artifact::scalar_text(d.find("resolved")) == "true";
    if (!resolved && std::find(a.blocked_by.begin(), a.blocked_by.end(), id) == a.blocked_by.end())
      sink.error("BLOCKING_DEPENDENCY_NOT_LISTED", dpath + ".artifact_id", d.mark,
                 fmt::format("{} blocks this event but is not in relationships.blocked_by", id),
                 fmt::format("add {} to metadata.relationships.blocked_by", id));
  }
}

} // namespace

bool is_strict_actor(std::string_view actor) {
  if (actor.starts_with("agent.")) {
    auto rest = actor.substr(6);
    auto at = rest.find('@');
    auto kind = rest.substr(0, at);
    if (kind != "system" && kind != "cascade")
      return false;
    return at == std::string_view::npos || is_lower_alnum_dash(rest.substr(at + 1));
  }
  std::string_view email;
  if (!split_human(actor, email))
    return false;
  auto domain = email.substr(email.find('@') + 1);
  auto dot = domain.rfind('.');
  return dot != std::string_view::npos && dot > 0 && domain.substr(dot + 1).size() >= 2 &&
         is_alpha(domain.substr(dot + 1));
}

void check_actor(Sink& sink, const YamlNode* node, const std::string& field,
                 artifact::Mark where_missing) {
  constexpr std::string_view fix =
      "use `Full Name (email@domain.tld)` or `agent.system` / `agent.cascade`";
  if (!node || !node->is_scalar() || node->scalar.empty()) {
    sink.error("ACTOR_INVALID", field, node ? node->mark : where_missing,
               fmt::format("{} is required", field), std::string(fix));
  } else if (is_legacy_actor(node->scalar) && !is_strict_actor(node->scalar)) {
    sink.tolerated("ACTOR_INVALID", field, node->mark,
                   fmt::format("{} '{}' is an older actor form", field, node->scalar),
                   std::string(fix));
  } else if (!is_strict_actor(node->scalar)) {
    sink.error("ACTOR_INVALID", field, node->mark,
               fmt::format("{} '{}' is not an actor", field, node->scalar), std::string(fix));
  }
}

bool is_legacy_actor(std::string_view actor) {
  std::string_view email;
  if (split_human(actor, email))
    return true;
  return actor.starts_with("agent.") && actor.size() > 6;
}

void check_events(Sink& sink) {
  const auto& a = sink.artifact();
  const YamlNode* meta = a.document.find("metadata");
  const YamlNode* events = meta ? meta->find("events") : nullptr;
  if (!events || !events->is_sequence())
    return; // reported by the schema check
  if (events->items.empty()) {
    sink.error("EMPTY_EVENTS", "metadata.events", events->mark, "metadata.events is empty",
               "add a first event: {event: draft, trigger: artifact_created, ...}");
    return;
  }
  std::optional<State> previous;
  std::optional<util::UnixSeconds> previous_time;
  for (size_t i = 0; i < events->items.size(); ++i) {
    const YamlNode& ev = events->items[i];
    auto path = fmt::format("metadata.events[{}]", i);
    if (!ev.is_mapping()) {
      sink.error("invalid_type", path, ev.mark, fmt::format("{} must be a mapping", path),
                 "write each event with event, timestamp, actor and trigger");
      previous.reset();
      continue;
    }
    auto state = check_event(sink, ev, path);
    if (i == 0 && state != State::draft)
      sink.error("FIRST_EVENT_MUST_BE_DRAFT", path + ".event", ev.mark,
                 "the first event must be draft",
                 "start the history with {event: draft, trigger: artifact_created}");
    if (state == State::blocked)
      check_blocking_dependencies(sink, ev, path);
    if (i > 0 && previous && state && !lifecycle::can_transition(a.type(), *previous, *state)) {
      auto next = lifecycle::valid_transitions(a.type(), *previous);
      std::vector<std::string_view> names;
      for (State s : next)
        names.push_back(lifecycle::to_string(s));
      sink.error(
          "INVALID_STATE_TRANSITION", path + ".event", ev.mark,
          fmt::format("invalid state transition {} → {} for {}", lifecycle::to_string(*previous),
                      lifecycle::to_string(*state), artifact::to_string(a.type())),
          names.empty()
              ? fmt::format("{} is final; no event may follow it", lifecycle::to_string(*previous))
              : fmt::format("from {} the next state is {}", lifecycle::to_string(*previous),
                            fmt::join(names, " or ")));
    }
    previous = state;
    const YamlNode* ts = ev.find("timestamp");
    auto t = ts && ts->is_scalar() ? util::parse_utc_lenient(ts->scalar) : std::nullopt;
    if (t && previous_time && *t < *previous_time)
      sink.error("EVENTS_OUT_OF_ORDER", path + ".timestamp", ts->mark,
                 fmt::format("event {} ({}) is earlier than the event before it ({})", i,
                             ts->scalar, util::format_utc(*previous_time)),
                 "events are appended in time order; correct the timestamp");
    if (t)
      previous_time = t;
  }
}

} // namespace kb::validate
