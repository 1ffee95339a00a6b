#include "core/lifecycle/transition.hpp"

#include "core/artifact/edit.hpp"
#include "core/artifact/writer.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/util/file.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

namespace kb::lifecycle {

using artifact::Artifact;
using artifact::DocumentText;
using artifact::YamlNode;

namespace {

util::Error refuse(std::string message, std::string hint = {}) {
  nlohmann::json details = nullptr;
  if (!hint.empty())
    details = {{"hint", hint}};
  return util::make_error(util::ErrorKind::failed, std::move(message), std::move(details));
}

YamlNode make_event(State state, Trigger trigger, const std::string& timestamp,
                    const std::string& actor, const nlohmann::json& metadata);

// A YAML node for JSON data (strings quoted unless they are IDs or enum words).
YamlNode node_of(const nlohmann::json& j) {
  YamlNode n;
  if (j.is_object()) {
    n.kind = YamlNode::Kind::mapping;
    for (const auto& [k, v] : j.items())
      n.entries.push_back({k, {}, node_of(v)});
  } else if (j.is_array()) {
    n.kind = YamlNode::Kind::sequence;
    for (const auto& v : j)
      n.items.push_back(node_of(v));
  } else if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    bool word = artifact::ArtifactId::parse(s).has_value();
    n = artifact::scalar_node(s, word);
  } else if (!j.is_null()) {
    n = artifact::scalar_node(j.dump(), true);
  }
  return n;
}

YamlNode make_event(State state, Trigger trigger, const std::string& timestamp,
                    const std::string& actor, const nlohmann::json& metadata) {
  YamlNode e;
  e.kind = YamlNode::Kind::mapping;
  e.entries.push_back({"event", {}, artifact::scalar_node(std::string(to_string(state)), true)});
  e.entries.push_back({"timestamp", {}, artifact::scalar_node(timestamp)});
  e.entries.push_back({"actor", {}, artifact::scalar_node(actor)});
  e.entries.push_back(
      {"trigger", {}, artifact::scalar_node(std::string(to_string(trigger)), true)});
  if (!metadata.is_null() && !metadata.empty())
    e.entries.push_back({"metadata", {}, node_of(metadata)});
  return e;
}

// The plan under construction: file texts are loaded once and edited in sequence.
class Planner {
public:
  Planner(const artifact::ArtifactIndex& index, const TransitionRequest& request)
      : m_index(index), m_request(request) {}

  util::Result<DocumentText*> doc(const Artifact& a) { return m_edits.doc(a.path); }

  // Appends an event to `a` and records it in the plan.
  util::Status append(const Artifact& a, State to, Trigger trigger, const std::string& actor,
                      const nlohmann::json& metadata, bool cascade, std::string note = {}) {
    auto d = doc(a);
    KB_TRY(d);
    if (auto st = (*d)->append_event(make_event(to, trigger, m_request.timestamp, actor, metadata));
        !st)
      return st;
    m_plan.events.push_back({a.id.str(), state_of(a), std::string(to_string(to)),
                             std::string(to_string(trigger)), cascade, std::move(note)});
    m_state[a.id.str()] = to;
    return util::ok_status();
  }

  // The state an artifact has in the plan so far.
  std::string state_of(const Artifact& a) const {
    auto it = m_state.find(a.id.str());
    return it != m_state.end() ? std::string(to_string(it->second)) : state_name(a);
  }
  std::optional<State> current(const Artifact& a) const {
    auto it = m_state.find(a.id.str());
    return it != m_state.end() ? std::optional(it->second) : current_state(a);
  }

  Plan finish() {
    m_plan.files = m_edits.texts();
    return std::move(m_plan);
  }

  Plan& plan() { return m_plan; }
  const artifact::ArtifactIndex& index() const { return m_index; }
  const TransitionRequest& request() const { return m_request; }

private:
  const artifact::ArtifactIndex& m_index;
  const TransitionRequest& m_request;
  artifact::EditSet m_edits;
  std::map<std::string, State> m_state;
  Plan m_plan;
};

nlohmann::json cascade_metadata(const char* type, const TransitionRequest& r, State trigger_event) {
  return {{"cascade_type", type},
          {"trigger_event", to_string(trigger_event)},
          {"trigger_actor", r.actor},
          {"trigger_timestamp", r.timestamp}};
}

// Progress cascade: a parent still `ready` moves to in_progress when a child starts, up to
// the initiative.
util::Status progress_cascade(Planner& p, const Artifact& child) {
  for (auto parent_id = child.id.parent(); parent_id; parent_id = parent_id->parent()) {
    const Artifact* parent = p.index().find(*parent_id);
    if (!parent || p.current(*parent) != State::ready)
      return util::ok_status();
    auto st = p.append(*parent, State::in_progress, Trigger::children_started, "agent.cascade",
                       cascade_metadata("progress_cascade", p.request(), State::in_progress), true,
                       fmt::format("{} started", child.id.str()));
    if (!st)
      return st;
  }
  return util::ok_status();
}

// Readiness cascade: dependents whose latest blocked event tracks `done` (completed, or
// cancelled: `how`) get it resolved, and become ready once nothing is left.
// The index of the artifact's latest `blocked` event, or events.size() when it has none.
size_t latest_blocked_event(const Artifact& a) {
  for (size_t i = a.events.size(); i-- > 0;)
    if (a.events[i].event == "blocked")
      return i;
  return a.events.size();
}

util::Status readiness_cascade(Planner& p, const Artifact& done, std::string_view how) {
  for (const Artifact* dep : p.index().dependents(done.id)) {
    if (p.current(*dep) != State::blocked)
      continue;
    size_t blocked_at = latest_blocked_event(*dep);
    if (blocked_at == dep->events.size())
      continue;
    const auto& deps = dep->events[blocked_at].blocking_dependencies;
    bool tracked = false, all_resolved = true;
    for (const auto& d : deps) {
      if (d.artifact_id == done.id.str()) {
        tracked = !d.resolved;
      } else {
        const Artifact* other = p.index().find(d.artifact_id);
        all_resolved &= d.resolved || !other || blocker_done(*other);
      }
    }
    if (!tracked)
      continue;
    auto d = p.doc(*dep);
    KB_TRY(d);
    if (auto st =
            (*d)->resolve_blocking_dependency(blocked_at, done.id.str(), p.request().timestamp);
        !st)
      return st;
    if (!all_resolved) {
      p.plan().notes.push_back(fmt::format("{}: dependency {} resolved; still waiting on others",
                                           dep->id.str(), done.id.str()));
      continue;
    }
    auto st = p.append(*dep, State::ready, Trigger::dependencies_met, "agent.cascade", nullptr,
                       true, fmt::format("dependency {} {}", done.id.str(), how));
    if (!st)
      return st;
  }
  return util::ok_status();
}

// `ready` and `block` both take a draft out of planning: to ready when nothing it depends on is
// open, otherwise to blocked with the open blockers tracked. `block` insists on the latter.
// `ready` of a blocked artifact whose blockers are all done (one cancelled before kodebase
// resolved dependencies on cancel, say): the rest of its dependencies resolved, and ready.
util::Status plan_unblock(Planner& p, const Artifact& a) {
  std::vector<std::string> open;
  for (const auto& b : a.blocked_by)
    if (const Artifact* blocker = p.index().find(b); blocker && !blocker_done(*blocker))
      open.push_back(fmt::format("{} ({})", b, state_name(*blocker)));
  if (!open.empty())
    return refuse(fmt::format("{} is blocked: waiting on {}", a.id.str(), fmt::join(open, ", ")),
                  "finish or cancel what it waits on, or unlink it: kodebase unlink " + a.id.str() +
                      " --blocked-by <id>");
  if (size_t at = latest_blocked_event(a); at < a.events.size()) {
    auto d = p.doc(a);
    KB_TRY(d);
    for (const auto& dep : a.events[at].blocking_dependencies)
      if (!dep.resolved)
        if (auto st = (*d)->resolve_blocking_dependency(at, dep.artifact_id, p.request().timestamp);
            !st)
          return st;
  }
  return p.append(a, State::ready, Trigger::dependencies_met, p.request().actor, nullptr, false);
}

util::Status plan_ready(Planner& p, const Artifact& a, bool must_block) {
  auto s = p.current(a);
  if (s == State::blocked && !must_block)
    return plan_unblock(p, a);
  if (s != State::draft)
    return refuse(fmt::format("{} is {}; only a draft can be marked {}", a.id.str(), p.state_of(a),
                              must_block ? "blocked" : "ready"));
  std::vector<std::string> open;
  for (const auto& b : a.blocked_by) {
    const Artifact* blocker = p.index().find(b);
    if (blocker && !blocker_done(*blocker))
      open.push_back(b);
  }
  if (open.empty() && must_block)
    return refuse(fmt::format("cannot block {}: nothing it depends on is open", a.id.str()),
                  fmt::format("add a dependency first (kodebase link {} --blocked-by <id>), or "
                              "mark it ready: kodebase ready {}",
                              a.id.str(), a.id.str()));
  if (open.empty())
    return p.append(a, State::ready, Trigger::dependencies_met, p.request().actor, nullptr, false);
  nlohmann::json deps = nlohmann::json::array();
  for (const auto& b : open)
    deps.push_back({{"artifact_id", b}, {"resolved", false}});
  return p.append(a, State::blocked, Trigger::has_dependencies, p.request().actor,
                  {{"blocking_dependencies", deps}}, false,
                  fmt::format("waiting on {}", fmt::join(open, ", ")));
}

util::Status plan_start(Planner& p, const Artifact& a) {
  auto s = p.current(a);
  if (s == State::in_progress) {
    p.plan().noop = true;
    p.plan().notes.push_back(fmt::format("{} is already in progress", a.id.str()));
    return util::ok_status();
  }
  if (s != State::ready)
    return refuse(fmt::format("cannot start {}: it is {}", a.id.str(), p.state_of(a)),
                  s == State::draft
                      ? fmt::format("mark it ready first: kodebase ready {}", a.id.str())
                      : std::string("only a ready artifact can be started"));
  auto reasons = blocking_reasons(p.index(), a);
  if (!reasons.empty()) {
    std::vector<std::string> why;
    for (const auto& r : reasons)
      why.push_back(r.message);
    return refuse(fmt::format("cannot start {}: {}", a.id.str(), fmt::join(why, "; ")),
                  "finish what it waits on first; `kodebase show " + a.id.str() + "` explains");
  }
  if (auto st = p.append(a, State::in_progress, Trigger::branch_created, p.request().actor, nullptr,
                         false);
      !st)
    return st;
  return progress_cascade(p, a);
}

// A milestone or initiative is reviewed and completed only when all its children are done:
// refused, naming each child that is not completed, cancelled or archived.
util::Status children_done(Planner& p, const Artifact& a, std::string_view verb) {
  std::vector<std::string> open;
  for (const Artifact* c : p.index().children(a.id))
    if (auto s = p.current(*c);
        !s || (*s != State::completed && *s != State::cancelled && *s != State::archived))
      open.push_back(fmt::format("{} ({})", c->id.str(), p.state_of(*c)));
  if (open.empty())
    return util::ok_status();
  return refuse(
      fmt::format("cannot {} {}: {} {} not completed or cancelled", verb, a.id.str(),
                  fmt::join(open, ", "), open.size() == 1 ? "is" : "are"),
      fmt::format("complete or cancel the open children first (`kodebase list --parent {}`)",
                  a.id.str()));
}

util::Status plan_submit(Planner& p, const Artifact& a) {
  if (p.current(a) != State::in_progress)
    return refuse(
        fmt::format("cannot submit {}: it is {}, not in_progress", a.id.str(), p.state_of(a)),
        fmt::format("start it first: kodebase start {}", a.id.str()));
  KB_TRY(children_done(p, a, "submit"));
  return p.append(a, State::in_review, Trigger::pr_ready, p.request().actor, p.request().metadata,
                  false);
}

// Archival cascade: the cancelled descendants of `root` (completed or just archived) become
// archived — `parent_completed` under a completed parent, `parent_archived` under an archived
// one. Descendants come parents first, so a cancelled milestone archived here passes
// `parent_archived` on to its own cancelled issues.
util::Status archive_cancelled_descendants(Planner& p, const Artifact& root) {
  for (const Artifact* d : p.index().descendants(root.id)) {
    if (p.current(*d) != State::cancelled)
      continue;
    const Artifact* parent = p.index().find(*d->id.parent());
    bool parent_archived = parent && p.current(*parent) == State::archived;
    auto st = p.append(
        *d, State::archived, parent_archived ? Trigger::parent_archived : Trigger::parent_completed,
        "agent.cascade",
        cascade_metadata(parent_archived ? "parent_cancel_archive" : "parent_completion_archive",
                         p.request(), parent_archived ? State::archived : State::completed),
        true,
        fmt::format("{} is {}", d->id.parent()->str(), parent_archived ? "archived" : "completed"));
    if (!st)
      return st;
  }
  return util::ok_status();
}

util::Status plan_complete(Planner& p, const Artifact& a) {
  if (p.current(a) != State::in_review)
    return refuse(
        fmt::format("cannot complete {}: it is {}, not in_review", a.id.str(), p.state_of(a)),
        fmt::format("submit it for review first: kodebase submit {}", a.id.str()));
  KB_TRY(children_done(p, a, "complete"));
  bool has_block = a.document.find(a.completion_key()) != nullptr;
  const auto& given = p.request().completion;
  if (!has_block && (!given.is_object() || given.empty()))
    return refuse(
        fmt::format("{} needs {} before it can be completed", a.id.str(), a.completion_key()),
        a.type() == artifact::ArtifactType::issue
            ? "pass --result \"what was done\" (and optionally --tag, --insight)"
            : "pass --outcome, --next and the lists, or --from-file with the block");
  if (!has_block) {
    auto d = p.doc(a);
    KB_TRY(d);
    YamlNode block;
    block.kind = YamlNode::Kind::mapping;
    block.entries.push_back({std::string(a.completion_key()), {}, node_of(given)});
    KB_TRY((*d)->append_text(artifact::write_canonical(block)));
  }
  if (auto st =
          p.append(a, State::completed, Trigger::pr_merged, p.request().actor, nullptr, false);
      !st)
    return st;
  KB_TRY(readiness_cascade(p, a, "completed"));
  return archive_cancelled_descendants(p, a);
}

// Completed work under `a` stays, so `a` cannot be cancelled over it.
util::Status no_completed_descendants(const Artifact& a, const artifact::ArtifactIndex& index,
                                      std::string_view why) {
  std::vector<std::string> completed;
  for (const Artifact* c : index.descendants(a.id))
    if (current_state(*c) == State::completed)
      completed.push_back(c->id.str());
  if (completed.empty())
    return util::ok_status();
  return refuse(fmt::format("cannot cancel {}{}: {} already completed", a.id.str(), why,
                            fmt::join(completed, ", ")),
                "completed work stays; archive the rest instead, or cancel the open children one "
                "by one");
}

// With `cancel --cascade`: the open dependents of `root`, and theirs, in the order they are
// reached. A finished dependent ends the walk there (it no longer waits on anything).
struct Dependent {
  const Artifact* artifact;
  const Artifact* via; // what it depends on that is cancelled
};
std::vector<Dependent> open_dependents(Planner& p, const Artifact& root) {
  std::vector<Dependent> out;
  std::set<std::string> seen{root.id.str()};
  std::vector<const Artifact*> queue{&root};
  for (size_t i = 0; i < queue.size(); ++i)
    for (const Artifact* dep : p.index().dependents(queue[i]->id)) {
      auto s = p.current(*dep);
      if ((s && is_terminal(*s)) || !seen.insert(dep->id.str()).second)
        continue;
      out.push_back({dep, queue[i]});
      queue.push_back(dep);
    }
  return out;
}

util::Status plan_cancel(Planner& p, const Artifact& a) {
  auto s = p.current(a);
  if (!s || is_terminal(*s))
    return refuse(fmt::format("cannot cancel {}: it is {}", a.id.str(), p.state_of(a)));
  KB_TRY(no_completed_descendants(a, p.index(), ""));
  auto cascaded = p.request().cascade ? open_dependents(p, a) : std::vector<Dependent>{};
  for (const auto& dep : cascaded)
    if (auto st = no_completed_descendants(
            *dep.artifact, p.index(),
            fmt::format(" (it depends on {}, cancelled with {})", dep.via->id.str(), a.id.str()));
        !st)
      return st;
  // The impact on dependents: a cancelled blocker counts as done, so a blocked dependent gets
  // the dependency resolved (and becomes ready when nothing else holds it, by the cascade
  // below); the others are only told of.
  if (cascaded.empty())
    for (const Artifact* dep : p.index().dependents(a.id)) {
      if (p.current(*dep) == State::blocked)
        continue;
      p.plan().notes.push_back(fmt::format("{} depends on {}; it is {} and no longer waits on it",
                                           dep->id.str(), a.id.str(), p.state_of(*dep)));
    }
  for (const Artifact* c : p.index().children(a.id))
    p.plan().notes.push_back(fmt::format("child {} stays {}", c->id.str(), state_name(*c)));
  nlohmann::json meta = nullptr;
  if (!p.request().reason.empty())
    meta = {{"reason", p.request().reason}};
  if (auto st =
          p.append(a, State::cancelled, Trigger::manual_cancel, p.request().actor, meta, false);
      !st)
    return st;
  // The dependents cancelled with it: the user's own act, recorded as a cascade of this one.
  for (const auto& dep : cascaded) {
    auto why = dep.via == &a
                   ? fmt::format("{} was cancelled", a.id.str())
                   : fmt::format("{} was cancelled with {}", dep.via->id.str(), a.id.str());
    auto dep_meta = cascade_metadata("dependency_cancel", p.request(), State::cancelled);
    dep_meta["reason"] =
        p.request().reason.empty() ? why : fmt::format("{}: {}", why, p.request().reason);
    if (auto st =
            p.append(*dep.artifact, State::cancelled, Trigger::manual_cancel, p.request().actor,
                     dep_meta, true, fmt::format("it depends on {}", dep.via->id.str()));
        !st)
      return st;
  }
  KB_TRY(readiness_cascade(p, a, "cancelled"));
  // A cancelled dependent counts as done for whatever else waits on it.
  for (const auto& dep : cascaded)
    KB_TRY(readiness_cascade(p, *dep.artifact, "cancelled"));
  return util::ok_status();
}

// `archive`: a cancelled artifact whose subtree is closed becomes archived, and so do its
// cancelled descendants; on a completed parent, only its cancelled descendants are archived
// (completed stays terminal). The schema has no trigger for a direct archive, so the
// artifact's own event names its parent's state: `parent_completed` when the parent is
// completed, `parent_archived` otherwise (also for initiatives, which have no parent).
util::Status plan_archive(Planner& p, const Artifact& a) {
  auto s = p.current(a);
  if (s == State::archived) {
    p.plan().noop = true;
    p.plan().notes.push_back(fmt::format("{} is already archived", a.id.str()));
    return util::ok_status();
  }
  if (s == State::completed) {
    KB_TRY(archive_cancelled_descendants(p, a));
    if (p.plan().events.empty()) {
      p.plan().noop = true;
      p.plan().notes.push_back(
          fmt::format("{} is completed and has no cancelled descendants to archive", a.id.str()));
    }
    return util::ok_status();
  }
  if (s != State::cancelled)
    return refuse(fmt::format("cannot archive {}: it is {}", a.id.str(), p.state_of(a)),
                  fmt::format("only cancelled artifacts are archived (and the cancelled children "
                              "of completed ones); cancel it first: kodebase cancel {}",
                              a.id.str()));
  std::vector<std::string> open;
  for (const Artifact* d : p.index().descendants(a.id))
    if (auto ds = p.current(*d); !ds || !is_terminal(*ds))
      open.push_back(fmt::format("{} ({})", d->id.str(), p.state_of(*d)));
  if (!open.empty())
    return refuse(
        fmt::format("cannot archive {}: {} still open", a.id.str(), fmt::join(open, ", ")),
        "an archived subtree is closed; complete or cancel those first");
  const Artifact* parent = a.id.parent() ? p.index().find(*a.id.parent()) : nullptr;
  bool parent_completed = parent && p.current(*parent) == State::completed;
  nlohmann::json meta = nullptr;
  if (!p.request().reason.empty())
    meta = {{"reason", p.request().reason}};
  if (auto st = p.append(a, State::archived,
                         parent_completed ? Trigger::parent_completed : Trigger::parent_archived,
                         p.request().actor, meta, false);
      !st)
    return st;
  return archive_cancelled_descendants(p, a);
}

} // namespace

util::Result<std::vector<PlannedEvent>>
dependency_events(artifact::EditSet& edits, const artifact::ArtifactIndex& index, const Artifact& a,
                  const std::vector<std::string>& linked, const std::vector<std::string>& unlinked,
                  const std::string& actor, const std::string& timestamp) {
  std::vector<PlannedEvent> out;
  auto state = current_state(a);
  if (state != State::ready && state != State::blocked)
    return out;
  auto open = [&](const std::string& id) {
    const Artifact* b = index.find(id);
    return b && !blocker_done(*b);
  };
  auto contains = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::vector<std::string> still_open; // after the change
  for (const auto& b : a.blocked_by)
    if (!contains(unlinked, b) && open(b))
      still_open.push_back(b);
  std::vector<std::string> newly_open;
  for (const auto& b : linked)
    if (open(b) && !contains(still_open, b)) {
      newly_open.push_back(b);
      still_open.push_back(b);
    }
  auto doc = edits.doc(a.path);
  KB_TRY(doc);
  auto event = [&](State to, Trigger trigger, const nlohmann::json& meta, std::string note) {
    out.push_back({a.id.str(), std::string(to_string(*state)), std::string(to_string(to)),
                   std::string(to_string(trigger)), false, std::move(note)});
    return (*doc)->append_event(make_event(to, trigger, timestamp, actor, meta));
  };
  if (state == State::ready) {
    if (newly_open.empty())
      return out;
    nlohmann::json deps = nlohmann::json::array();
    for (const auto& b : still_open)
      deps.push_back({{"artifact_id", b}, {"resolved", false}});
    if (auto st =
            event(State::blocked, Trigger::has_dependencies, {{"blocking_dependencies", deps}},
                  fmt::format("waiting on {}", fmt::join(still_open, ", ")));
        !st)
      return st.error();
    return out;
  }
  // Blocked: the latest blocked event tracks what it waits on (an older file may have none).
  size_t at = latest_blocked_event(a);
  if (at == a.events.size())
    return out;
  for (const auto& b : newly_open)
    KB_TRY((*doc)->add_blocking_dependency(at, b));
  for (const auto& d : a.events[at].blocking_dependencies)
    if (!d.resolved && contains(unlinked, d.artifact_id))
      KB_TRY((*doc)->resolve_blocking_dependency(at, d.artifact_id, timestamp));
  if (!unlinked.empty() && still_open.empty())
    if (auto st = event(State::ready, Trigger::dependencies_met, nullptr,
                        fmt::format("no longer waits on {}", fmt::join(unlinked, ", ")));
        !st)
      return st.error();
  return out;
}

std::string_view to_string(Action a) {
  switch (a) {
  case Action::ready: return "ready";
  case Action::start: return "start";
  case Action::submit: return "submit";
  case Action::complete: return "complete";
  case Action::cancel: return "cancel";
  case Action::block: return "block";
  case Action::archive: return "archive";
  }
  return "start";
}

std::optional<Action> action_from_string(std::string_view name) {
  for (auto a : {Action::ready, Action::start, Action::submit, Action::complete, Action::cancel,
                 Action::block, Action::archive})
    if (to_string(a) == name)
      return a;
  return std::nullopt;
}

util::Result<Plan> plan_transition(const artifact::ArtifactIndex& index,
                                   const TransitionRequest& request) {
  const Artifact* a = index.find(request.id);
  if (!a)
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("artifact {} not found", request.id.str()),
                            {{"hint", "run `kodebase list` to see the artifact IDs"}});
  Planner p(index, request);
  util::Status st = util::ok_status();
  switch (request.action) {
  case Action::ready: st = plan_ready(p, *a, false); break;
  case Action::block: st = plan_ready(p, *a, true); break;
  case Action::start: st = plan_start(p, *a); break;
  case Action::submit: st = plan_submit(p, *a); break;
  case Action::complete: st = plan_complete(p, *a); break;
  case Action::cancel: st = plan_cancel(p, *a); break;
  case Action::archive: st = plan_archive(p, *a); break;
  }
  KB_TRY(st);
  return p.finish();
}

} // namespace kb::lifecycle
