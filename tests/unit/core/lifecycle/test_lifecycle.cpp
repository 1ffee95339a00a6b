#include "core/lifecycle/readiness.hpp"
#include "tests/unit/support.hpp"

using namespace kb::lifecycle;
using kb::artifact::ArtifactType;

TEST_CASE("there are 8 states and 12 triggers", "[lifecycle]") {
  CHECK(all_states().size() == 8);
  CHECK(all_triggers().size() == 12);
  for (auto s : all_states())
    CHECK(state_from_string(to_string(s)) == s);
  for (auto t : all_triggers())
    CHECK(trigger_from_string(to_string(t)) == t);
}

TEST_CASE("the transition table", "[lifecycle][transitions]") {
  for (auto type : {ArtifactType::issue, ArtifactType::milestone, ArtifactType::initiative}) {
    CHECK(can_transition(type, State::draft, State::ready));
    CHECK(can_transition(type, State::draft, State::blocked));
    CHECK(can_transition(type, State::draft, State::cancelled));
    CHECK_FALSE(can_transition(type, State::draft, State::in_progress));
    CHECK(can_transition(type, State::blocked, State::ready));
    CHECK(can_transition(type, State::ready, State::in_progress));
    CHECK(can_transition(type, State::in_progress, State::in_review));
    CHECK(can_transition(type, State::in_review, State::completed));
    CHECK(can_transition(type, State::cancelled, State::draft));
    CHECK(can_transition(type, State::cancelled, State::archived));
    CHECK(valid_transitions(type, State::completed).empty());
    CHECK(valid_transitions(type, State::archived).empty());
    CHECK_FALSE(can_transition(type, State::in_review, State::ready));
  }
}

TEST_CASE("triggers pair with their events", "[lifecycle][triggers]") {
  CHECK(trigger_allowed(State::draft, Trigger::artifact_created));
  CHECK(trigger_allowed(State::ready, Trigger::dependencies_met));
  CHECK(trigger_allowed(State::ready, Trigger::dependency_completed));
  CHECK(trigger_allowed(State::blocked, Trigger::has_dependencies));
  CHECK(trigger_allowed(State::in_progress, Trigger::children_started));
  CHECK(trigger_allowed(State::in_review, Trigger::children_completed));
  CHECK(trigger_allowed(State::completed, Trigger::pr_merged));
  CHECK(trigger_allowed(State::cancelled, Trigger::manual_cancel));
  CHECK(trigger_allowed(State::archived, Trigger::parent_archived));
  CHECK_FALSE(trigger_allowed(State::ready, Trigger::pr_merged));
  CHECK_FALSE(trigger_allowed(State::completed, Trigger::pr_ready));
}

TEST_CASE("readiness on the loader tree", "[lifecycle][readiness]") {
  auto index = kb::artifact::load_index(kb::test::fixture("kodebase-core/loader-tree"));
  auto get = [&](const char* id) { return *index.find(id); };
  CHECK_FALSE(is_blocked(index, get("A.1.1"))); // A.1.2 was completed
  CHECK(is_blocked(index, get("A.1.3")));       // A.1.1 is still in progress
  auto reasons = blocking_reasons(index, get("A.1.3"));
  REQUIRE(reasons.size() == 1);
  CHECK(reasons[0].type == ReasonType::incomplete_dependencies);
  CHECK(reasons[0].related == std::vector<std::string>{"A.1.1"});
  auto done = blocking_reasons(index, get("A.1.2"));
  REQUIRE(done.size() == 1);
  CHECK(done[0].type == ReasonType::invalid_state);
  CHECK(is_ready(index, get("A.2.2")));
  // B.1.1 is in review (started already), and its parent B.1 is in review: both are said.
  auto gated = blocking_reasons(index, get("B.1.1"));
  REQUIRE(gated.size() == 2);
  CHECK(gated[0].type == ReasonType::invalid_state);
  CHECK_THAT(gated[0].message, Catch::Matchers::Contains("started already"));
  CHECK(gated[1].type == ReasonType::incomplete_parent);
  CHECK(gated[1].related == std::vector<std::string>{"B.1"});
  CHECK_FALSE(is_ready(index, get("B.1.1")));
}

TEST_CASE("ancestor gating sees blocked and cancelled parents", "[lifecycle][readiness]") {
  auto cancelled = "    - event: cancelled\n      timestamp: \"2025-01-02T00:00:00Z\"\n"
                   "      actor: \"agent.system\"\n      trigger: manual_cancel\n";
  auto index = kb::test::index_of({{"A", kb::test::valid_yaml("A")},
                                   {"A.1", kb::test::valid_yaml("A.1", "", cancelled)},
                                   {"A.1.1", kb::test::valid_yaml("A.1.1")},
                                   {"A.2.1", kb::test::valid_yaml("A.2.1")}});
  CHECK(ancestor_blocked_or_cancelled(index, *index.find("A.1.1")));
  CHECK_FALSE(ancestor_blocked_or_cancelled(index, *index.find("A.2.1"))); // A.2 is missing
}

TEST_CASE("next work ranks startable issues first, then priority, then ID", "[lifecycle][next]") {
  auto ready = [](const char* when) {
    return std::string("    - event: ready\n      timestamp: \"") + when +
           "\"\n      actor: \"agent.system\"\n      trigger: dependencies_met\n";
  };
  auto with_priority = [](std::string text, const char* p) {
    auto pos = text.find("priority: medium");
    return text.replace(pos, 16, std::string("priority: ") + p);
  };
  auto in_progress = ready("2025-01-01T00:00:00Z") +
                     "    - event: in_progress\n      timestamp: \"2025-01-02T00:00:00Z\"\n"
                     "      actor: \"agent.system\"\n      trigger: children_started\n";
  auto index = kb::test::index_of({
      {"A", kb::test::valid_yaml("A", "", in_progress)},
      {"A.1", kb::test::valid_yaml("A.1", "", in_progress)},
      {"A.1.1",
       with_priority(kb::test::valid_yaml("A.1.1", "", ready("2025-01-03T00:00:00Z")), "low")},
      {"A.1.2",
       with_priority(kb::test::valid_yaml("A.1.2", "", ready("2025-01-03T00:00:00Z")), "critical")},
      {"A.1.3", with_priority(kb::test::valid_yaml("A.1.3"), "critical")}, // draft
      {"A.1.4", kb::test::valid_yaml("A.1.4", "    blocks: []\n    blocked_by: [A.1.3]\n")},
  });
  auto next = next_work(index);
  std::vector<std::string> order;
  for (const auto& item : next)
    order.push_back(item.artifact->id.str());
  CHECK(order == std::vector<std::string>{"A.1.2", "A.1.1", "A.1.3"});
  CHECK(next[0].startable);
  CHECK_FALSE(next[2].startable);
}
