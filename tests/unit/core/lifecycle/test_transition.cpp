#include "core/lifecycle/readiness.hpp"
#include "core/lifecycle/transition.hpp"
#include "core/repo/store.hpp"
#include "core/util/file.hpp"
#include "core/validate/validator.hpp"
#include "tests/unit/support.hpp"

#include <fmt/format.h>

using namespace kb::lifecycle;
using kb::artifact::ArtifactId;

namespace {

// A project on disk built from ID → text, loaded as an index.
struct Tree {
  kb::test::TempDir dir;
  kb::artifact::ArtifactIndex index;

  explicit Tree(const std::map<std::string, std::string>& files) {
    for (const auto& [id, text] : files)
      REQUIRE(kb::util::write_file_atomic(dir.path() / (id + ".yml"), text).ok());
    index = kb::artifact::load_index(dir.path());
  }

  Plan plan(Action action, const char* id, nlohmann::json completion = nullptr) {
    auto p = plan_transition(index, request(action, id, completion));
    INFO((p.ok() ? "" : p.error().message));
    REQUIRE(p.ok());
    return std::move(*p);
  }

  TransitionRequest request(Action action, const char* id, nlohmann::json completion = nullptr) {
    return TransitionRequest{
        action, *ArtifactId::parse(id), "Ada Lovelace (ada@example.com)", "2025-06-01T10:00:00Z",
        "",     std::move(completion)};
  }

  // Applies a plan's files and reloads.
  void apply(const Plan& p) {
    for (const auto& [path, text] : p.files)
      REQUIRE(kb::util::write_file_atomic(path, text).ok());
    index = kb::artifact::load_index(dir.path());
  }

  std::string state(const char* id) { return state_name(*index.find(id)); }
};

std::string ev(const char* state, const char* trigger, const char* ts) {
  return std::string("    - event: ") + state + "\n      timestamp: \"" + ts +
         "\"\n      actor: \"agent.system\"\n      trigger: " + trigger + "\n";
}

std::string rel(const char* blocks, const char* blocked_by) {
  return std::string("    blocks: [") + blocks + "]\n    blocked_by: [" + blocked_by + "]\n";
}

} // namespace

TEST_CASE("start appends in_progress and cascades to ready parents", "[lifecycle][transition]") {
  auto ready = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z");
  Tree t({{"A", kb::test::valid_yaml("A", "", ready)},
          {"A.1", kb::test::valid_yaml("A.1", "", ready)},
          {"A.1.1", kb::test::valid_yaml("A.1.1", "", ready)}});
  auto plan = t.plan(Action::start, "A.1.1");
  REQUIRE(plan.events.size() == 3);
  CHECK(plan.events[0].id == "A.1.1");
  CHECK_FALSE(plan.events[0].cascade);
  CHECK(plan.events[1].id == "A.1");
  CHECK(plan.events[1].trigger == "children_started");
  CHECK(plan.events[2].id == "A");
  t.apply(plan);
  CHECK(t.state("A.1.1") == "in_progress");
  CHECK(t.state("A") == "in_progress");
  CHECK(t.index.find("A.1")->events.back().actor == "agent.cascade");
  auto again = t.plan(Action::start, "A.1.1");
  CHECK(again.noop);
  CHECK(again.files.empty());
}

TEST_CASE("ready blocks on unfinished blockers; completion readies dependents",
          "[lifecycle][transition]") {
  Tree t({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("A.1.2", ""))},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("", "A.1.1"))}});
  t.apply(t.plan(Action::ready, "A.1.1"));
  auto blocked = t.plan(Action::ready, "A.1.2");
  CHECK(blocked.events[0].to == "blocked");
  t.apply(blocked);
  CHECK(t.index.find("A.1.2")->events.back().blocking_dependencies.at(0).artifact_id == "A.1.1");
  t.apply(t.plan(Action::start, "A.1.1"));
  t.apply(t.plan(Action::submit, "A.1.1"));
  auto refused = plan_transition(t.index, t.request(Action::complete, "A.1.1"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("implementation_notes") != std::string::npos);
  auto done = t.plan(Action::complete, "A.1.1", {{"result", "Shipped"}});
  REQUIRE(done.events.size() == 2);
  CHECK(done.events[1].id == "A.1.2");
  CHECK(done.events[1].to == "ready");
  t.apply(done);
  CHECK(t.state("A.1.2") == "ready");
  CHECK(t.index.find("A.1.1")->implementation_notes->result == "Shipped");
  CHECK(t.index.find("A.1.2")->events[1].blocking_dependencies.at(0).resolved);
}

TEST_CASE("refusals say why and change nothing", "[lifecycle][transition]") {
  Tree t({{"A.1.1", kb::test::valid_yaml("A.1.1")},
          {"A.1.2",
           kb::test::valid_yaml("A.1.2", "",
                                ev("ready", "dependencies_met", "2025-01-02T00:00:00Z") +
                                    ev("in_progress", "branch_created", "2025-01-03T00:00:00Z") +
                                    ev("in_review", "pr_ready", "2025-01-04T00:00:00Z") +
                                    ev("completed", "pr_merged", "2025-01-05T00:00:00Z"))}});
  for (auto [action, id, words] : {std::tuple{Action::start, "A.1.1", "kodebase ready A.1.1"},
                                   {Action::submit, "A.1.1", "not in_progress"},
                                   {Action::complete, "A.1.1", "not in_review"},
                                   {Action::cancel, "A.1.2", "completed"},
                                   {Action::ready, "A.1.2", "only a draft"}}) {
    auto r = plan_transition(t.index, t.request(action, id));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == kb::util::ErrorKind::failed);
    std::string all = r.error().message + " " + r.error().details.dump();
    INFO(all);
    CHECK(all.find(words) != std::string::npos);
  }
  auto missing = plan_transition(t.index, t.request(Action::start, "A.9.9"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == kb::util::ErrorKind::not_found);
}

TEST_CASE("cancel guards completed children and reports the impact", "[lifecycle][transition]") {
  auto done = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z") +
              ev("in_progress", "branch_created", "2025-01-03T00:00:00Z") +
              ev("in_review", "pr_ready", "2025-01-04T00:00:00Z") +
              ev("completed", "pr_merged", "2025-01-05T00:00:00Z");
  Tree t({{"A.1", kb::test::valid_yaml("A.1")},
          {"A.1.1", kb::test::valid_yaml("A.1.1", "", done)},
          {"A.2", kb::test::valid_yaml("A.2", rel("A.3", ""))},
          {"A.3", kb::test::valid_yaml("A.3", rel("", "A.2"))}});
  auto guarded = plan_transition(t.index, t.request(Action::cancel, "A.1"));
  REQUIRE_FALSE(guarded.ok());
  CHECK(guarded.error().message.find("A.1.1 already completed") != std::string::npos);
  auto cancel = t.plan(Action::cancel, "A.2");
  REQUIRE(cancel.notes.size() == 1);
  CHECK(cancel.notes[0] == "A.3 depends on A.2; it is draft and no longer waits on it");
}

TEST_CASE("block insists on open blockers", "[lifecycle][transition]") {
  Tree t({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("A.1.2", ""))},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("", "A.1.1"))}});
  auto nothing = plan_transition(t.index, t.request(Action::block, "A.1.1"));
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.error().message == "cannot block A.1.1: nothing it depends on is open");
  auto blocked = t.plan(Action::block, "A.1.2");
  REQUIRE(blocked.events.size() == 1);
  CHECK(blocked.events[0].to == "blocked");
  CHECK(blocked.events[0].trigger == "has_dependencies");
}

TEST_CASE("archive closes cancelled subtrees; completing a parent archives its cancelled "
          "children",
          "[lifecycle][transition]") {
  auto done = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z") +
              ev("in_progress", "branch_created", "2025-01-03T00:00:00Z") +
              ev("in_review", "pr_ready", "2025-01-04T00:00:00Z") +
              ev("completed", "pr_merged", "2025-01-05T00:00:00Z");
  auto cancelled = ev("cancelled", "manual_cancel", "2025-01-02T00:00:00Z");
  auto review = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z") +
                ev("in_progress", "children_started", "2025-01-03T00:00:00Z") +
                ev("in_review", "pr_ready", "2025-01-04T00:00:00Z");
  Tree t({{"A.1", kb::test::valid_yaml("A.1", "", review)},
          {"A.1.1", kb::test::valid_yaml("A.1.1", "", done)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", "", cancelled)},
          {"A.2", kb::test::valid_yaml("A.2", "", cancelled)},
          {"A.2.1", kb::test::valid_yaml("A.2.1", "", cancelled)},
          {"A.2.2", kb::test::valid_yaml("A.2.2")},
          {"A.3", kb::test::valid_yaml("A.3")}});

  // An open child keeps a cancelled parent from being archived; the refusal names it.
  auto open = plan_transition(t.index, t.request(Action::archive, "A.2"));
  REQUIRE_FALSE(open.ok());
  CHECK(open.error().message == "cannot archive A.2: A.2.2 (draft) still open");
  auto not_cancelled = plan_transition(t.index, t.request(Action::archive, "A.3"));
  REQUIRE_FALSE(not_cancelled.ok());
  CHECK(not_cancelled.error().details.dump().find("kodebase cancel A.3") != std::string::npos);

  t.apply(t.plan(Action::cancel, "A.2.2"));
  auto archive = t.plan(Action::archive, "A.2");
  REQUIRE(archive.events.size() == 3);
  CHECK(archive.events[0].id == "A.2");
  CHECK(archive.events[0].trigger == "parent_archived");
  CHECK_FALSE(archive.events[0].cascade);
  CHECK(archive.events[1].id == "A.2.1");
  CHECK(archive.events[1].trigger == "parent_archived");
  CHECK(archive.events[1].cascade);
  t.apply(archive);
  CHECK(t.state("A.2.2") == "archived");
  CHECK(t.plan(Action::archive, "A.2").noop);

  // Completing the milestone archives its cancelled issue with parent_completed.
  auto complete = t.plan(Action::complete, "A.1", {{"outcome", "Shipped"}, {"next", "More"}});
  REQUIRE(complete.events.size() == 2);
  CHECK(complete.events[1].id == "A.1.2");
  CHECK(complete.events[1].to == "archived");
  CHECK(complete.events[1].trigger == "parent_completed");
  t.apply(complete);
  CHECK(t.state("A.1.2") == "archived");
  CHECK(t.index.find("A.1.2")->events.back().actor == "agent.cascade");
  // Nothing left to archive under a completed parent.
  CHECK(t.plan(Action::archive, "A.1").noop);
}

TEST_CASE("a milestone is submitted and completed only when its children are done",
          "[lifecycle][transition]") {
  auto started = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z") +
                 ev("in_progress", "children_started", "2025-01-03T00:00:00Z");
  auto review = started + ev("in_review", "pr_ready", "2025-01-04T00:00:00Z");
  auto done = review + ev("completed", "pr_merged", "2025-01-05T00:00:00Z");
  // A.1 is in review by a hand edit (or an older tool) although A.1.2 is still open.
  Tree t({{"A.1", kb::test::valid_yaml("A.1", "", review)},
          {"A.2", kb::test::valid_yaml("A.2", "", started)},
          {"A.1.1", kb::test::valid_yaml("A.1.1", "", done)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", "", started)},
          {"A.1.3", kb::test::valid_yaml("A.1.3", "",
                                         ev("cancelled", "manual_cancel", "2025-01-02T00:00:00Z"))},
          {"A.2.1", kb::test::valid_yaml("A.2.1")}});
  auto complete = plan_transition(
      t.index, t.request(Action::complete, "A.1", {{"outcome", "Shipped"}, {"next", "More"}}));
  REQUIRE_FALSE(complete.ok());
  CHECK(complete.error().message ==
        "cannot complete A.1: A.1.2 (in_progress) is not completed or cancelled");
  CHECK(complete.error().details.dump().find("kodebase list --parent A.1") != std::string::npos);
  auto submit = plan_transition(t.index, t.request(Action::submit, "A.2"));
  REQUIRE_FALSE(submit.ok());
  CHECK(submit.error().message == "cannot submit A.2: A.2.1 (draft) is not completed or cancelled");

  // Once the open child is done, the milestone completes.
  t.apply(t.plan(Action::submit, "A.1.2"));
  t.apply(t.plan(Action::complete, "A.1.2", {{"result", "Done"}}));
  t.apply(t.plan(Action::complete, "A.1", {{"outcome", "Shipped"}, {"next", "More"}}));
  CHECK(t.state("A.1") == "completed");
}

TEST_CASE("a cancelled blocker counts as done: cancel readies its dependents, ready unblocks",
          "[lifecycle][transition]") {
  auto ready = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z");
  auto blocked = std::string("    - event: blocked\n      timestamp: \"2025-01-02T00:00:00Z\"\n"
                             "      actor: \"agent.system\"\n      trigger: has_dependencies\n"
                             "      metadata:\n        blocking_dependencies:\n"
                             "          - artifact_id: A.1.1\n            resolved: false\n");
  Tree t({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("A.1.2", ""), ready)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("", "A.1.1"), blocked)},
          {"A.1.3", kb::test::valid_yaml("A.1.3", rel("A.1.4", ""), ready)},
          {"A.1.4", kb::test::valid_yaml("A.1.4", rel("", "A.1.3"), blocked)}});
  auto cancel = t.plan(Action::cancel, "A.1.1");
  REQUIRE(cancel.events.size() == 2);
  CHECK(cancel.events[1].id == "A.1.2");
  CHECK(cancel.events[1].to == "ready");
  CHECK(cancel.events[1].cascade);
  t.apply(cancel);
  CHECK(t.state("A.1.2") == "ready");
  CHECK(t.index.find("A.1.2")->events[1].blocking_dependencies[0].resolved);

  // A blocker cancelled by an older tool left its dependent blocked: `ready` resolves the rest.
  auto refused = plan_transition(t.index, t.request(Action::ready, "A.1.4"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "A.1.4 is blocked: waiting on A.1.3 (ready)");
  std::string cancelled = ev("cancelled", "manual_cancel", "2025-01-03T00:00:00Z");
  REQUIRE(kb::util::write_file_atomic(
              t.dir.path() / "A.1.3.yml",
              kb::test::valid_yaml("A.1.3", rel("A.1.4", ""), ready + cancelled))
              .ok());
  t.index = kb::artifact::load_index(t.dir.path());
  t.apply(t.plan(Action::ready, "A.1.4"));
  CHECK(t.state("A.1.4") == "ready");
  CHECK(t.index.find("A.1.4")->events[1].blocking_dependencies[0].resolved);
  t.apply(t.plan(Action::start, "A.1.4"));
  CHECK(t.state("A.1.4") == "in_progress");
}

TEST_CASE("cancel with cascade cancels the open dependents, transitively",
          "[lifecycle][transition]") {
  auto ready = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z");
  auto blocked_on = [](const char* id) {
    return fmt::format("    - event: blocked\n      timestamp: \"2025-01-02T00:00:00Z\"\n"
                       "      actor: \"agent.system\"\n      trigger: has_dependencies\n"
                       "      metadata:\n        blocking_dependencies:\n"
                       "          - artifact_id: {}\n            resolved: false\n",
                       id);
  };
  auto done = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z") +
              ev("in_progress", "branch_created", "2025-01-03T00:00:00Z") +
              ev("in_review", "pr_ready", "2025-01-04T00:00:00Z") +
              ev("completed", "pr_merged", "2025-01-05T00:00:00Z");
  // A.1.1 ← A.1.2 ← A.1.3 (a chain), A.1.4 completed although it lists A.1.1.
  Tree t({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("A.1.2, A.1.4", ""), ready)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("A.1.3", "A.1.1"), blocked_on("A.1.1"))},
          {"A.1.3", kb::test::valid_yaml("A.1.3", rel("", "A.1.2"), blocked_on("A.1.2"))},
          {"A.1.4", kb::test::valid_yaml("A.1.4", rel("", "A.1.1"), done)}});
  auto request = t.request(Action::cancel, "A.1.1");
  request.reason = "dropped";
  request.cascade = true;
  auto plan = plan_transition(t.index, request);
  REQUIRE(plan.ok());
  REQUIRE(plan->events.size() == 3);
  CHECK(plan->events[1].id == "A.1.2");
  CHECK(plan->events[1].to == "cancelled");
  CHECK(plan->events[1].cascade);
  CHECK(plan->events[1].note == "it depends on A.1.1");
  CHECK(plan->events[2].id == "A.1.3");
  CHECK(plan->events[2].note == "it depends on A.1.2");
  t.apply(*plan);
  CHECK(t.state("A.1.2") == "cancelled");
  CHECK(t.state("A.1.3") == "cancelled");
  CHECK(t.state("A.1.4") == "completed");
  const auto& cancelled = t.index.find("A.1.3")->events.back();
  CHECK(cancelled.trigger == "manual_cancel");
  CHECK(cancelled.metadata["reason"] == "A.1.2 was cancelled with A.1.1: dropped");
  CHECK(t.index.find("A.1.2")->events.back().metadata["reason"] == "A.1.1 was cancelled: dropped");
  CHECK(cancelled.metadata["cascade_type"] == "dependency_cancel");

  // Without the option the chain's first dependent becomes ready instead.
  Tree u({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("A.1.2", ""), ready)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("A.1.3", "A.1.1"), blocked_on("A.1.1"))},
          {"A.1.3", kb::test::valid_yaml("A.1.3", rel("", "A.1.2"), blocked_on("A.1.2"))}});
  u.apply(u.plan(Action::cancel, "A.1.1"));
  CHECK(u.state("A.1.2") == "ready");
  CHECK(u.state("A.1.3") == "blocked");
}

TEST_CASE("linking a ready artifact to an open blocker blocks it; unlinking readies it",
          "[lifecycle][transition]") {
  auto ready = ev("ready", "dependencies_met", "2025-01-02T00:00:00Z");
  Tree t({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("", ""), ready)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("", ""), ready)},
          {"A.1.3", kb::test::valid_yaml("A.1.3", rel("", ""), ready)}});
  auto change = [&](const char* id, std::vector<std::string> linked,
                    std::vector<std::string> unlinked) {
    kb::artifact::EditSet edits;
    const auto* a = t.index.find(id);
    auto doc = edits.doc(a->path);
    REQUIRE(doc.ok());
    for (const auto& b : linked)
      REQUIRE((*doc)->add_to_list({"metadata", "relationships", "blocked_by"}, b).ok());
    for (const auto& b : unlinked)
      REQUIRE((*doc)->remove_from_list({"metadata", "relationships", "blocked_by"}, b).ok());
    auto events = dependency_events(edits, t.index, *a, linked, unlinked,
                                    "Ada Lovelace (ada@example.com)", "2025-06-01T10:00:00Z");
    REQUIRE(events.ok());
    for (const auto& [path, text] : edits.texts())
      REQUIRE(kb::util::write_file_atomic(path, text).ok());
    t.index = kb::artifact::load_index(t.dir.path());
    return std::move(*events);
  };
  // ready → blocked, the blocker tracked; a second open blocker is tracked in the same event.
  auto linked = change("A.1.3", {"A.1.1"}, {});
  REQUIRE(linked.size() == 1);
  CHECK(linked[0].from == "ready");
  CHECK(linked[0].to == "blocked");
  CHECK(linked[0].trigger == "has_dependencies");
  CHECK(t.state("A.1.3") == "blocked");
  CHECK(change("A.1.3", {"A.1.2"}, {}).empty());
  const auto& blocked = t.index.find("A.1.3")->events.back();
  REQUIRE(blocked.blocking_dependencies.size() == 2);
  CHECK(blocked.blocking_dependencies[1].artifact_id == "A.1.2");
  CHECK_FALSE(blocked.blocking_dependencies[1].resolved);
  // The file stays valid (ready → blocked is in the table; every blocker tracked is listed).
  for (auto id : {"A.1.3"}) {
    auto findings = kb::validate::validate_artifact(*t.index.find(id), kb::validate::Mode::strict);
    for (const auto& f : findings)
      INFO(f.code << ": " << f.message);
    CHECK(findings.empty());
  }
  // Unlinking one leaves it blocked; unlinking the last open one makes it ready.
  CHECK(change("A.1.3", {}, {"A.1.1"}).empty());
  CHECK(t.state("A.1.3") == "blocked");
  auto unlinked = change("A.1.3", {}, {"A.1.2"});
  REQUIRE(unlinked.size() == 1);
  CHECK(unlinked[0].to == "ready");
  CHECK(t.state("A.1.3") == "ready");
  // A draft only gains the link: `ready` decides later.
  Tree d({{"A.1.1", kb::test::valid_yaml("A.1.1", rel("", ""), ready)},
          {"A.1.2", kb::test::valid_yaml("A.1.2", rel("", ""))}});
  kb::artifact::EditSet edits;
  CHECK(dependency_events(edits, d.index, *d.index.find("A.1.2"), {"A.1.1"}, {}, "agent.system",
                          "2025-06-01T10:00:00Z")
            ->empty());
}
