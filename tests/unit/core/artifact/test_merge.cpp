// The three-way merge of artifact files: event histories, fields, lists, conflicts, and the
// property that a history split across two branches merges to what one branch would have.
#include "core/artifact/edit.hpp"
#include "core/artifact/merge.hpp"
#include "core/artifact/writer.hpp"
#include "tests/unit/support.hpp"

#include <algorithm>
#include <random>

using kb::artifact::has_conflict_markers;
using kb::artifact::merge_artifact_texts;
using kb::artifact::split_conflict;

namespace {

std::string event(const std::string& name, const std::string& trigger, const std::string& time,
                  const std::string& actor = "Ada Lovelace (ada@example.com)",
                  const std::string& metadata = "") {
  return "    - event: " + name + "\n      timestamp: \"" + time + "\"\n      actor: \"" + actor +
         "\"\n      trigger: " + trigger + "\n" + metadata;
}

std::string cascade(const std::string& time, const std::string& child) {
  return event("in_progress", "children_started", time, "agent.cascade",
               "      metadata:\n        cascade_type: progress_cascade\n"
               "        trigger_event: in_progress\n        trigger_actor: \"Ada Lovelace "
               "(ada@example.com)\"\n        trigger_timestamp: \"" +
                   time + "\"\n        child: " + child + "\n");
}

// The events of `text` as (event, timestamp) pairs.
std::vector<std::pair<std::string, std::string>> events_of(const std::string& id,
                                                           const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : kb::test::artifact_of(id, text).events)
    out.emplace_back(e.event, e.timestamp);
  return out;
}

const std::string k_ready = event("ready", "dependencies_met", "2025-01-02T00:00:00Z");

} // namespace

TEST_CASE("parallel starts of two siblings merge the parent's cascade once, the earliest",
          "[artifact][merge]") {
  auto base = kb::test::valid_yaml("A.1", "", k_ready);
  auto ours = kb::test::valid_yaml("A.1", "", k_ready + cascade("2025-01-03T10:00:00Z", "A.1.1"));
  auto theirs = kb::test::valid_yaml("A.1", "", k_ready + cascade("2025-01-03T09:00:00Z", "A.1.4"));
  auto merged = merge_artifact_texts(base, ours, theirs);
  REQUIRE(merged.ok());
  CHECK(merged->conflicts.empty());
  auto events = events_of("A.1", merged->text);
  REQUIRE(events.size() == 3);
  CHECK(events[2] == std::pair<std::string, std::string>{"in_progress", "2025-01-03T09:00:00Z"});
  // The rest of ours is untouched, byte for byte.
  CHECK(merged->text.substr(0, merged->text.find("    - event: in_progress")) ==
        ours.substr(0, ours.find("    - event: in_progress")));
}

TEST_CASE("new events of both sides are kept, in timestamp order", "[artifact][merge]") {
  auto base = kb::test::valid_yaml("A.1.1", "", k_ready);
  auto a = event("in_progress", "branch_created", "2025-01-03T00:00:00Z");
  auto b = event("in_review", "pr_ready", "2025-01-04T00:00:00Z");
  auto c = event("blocked", "has_dependencies", "2025-01-03T12:00:00Z", "Grace (g@example.com)");
  auto merged = merge_artifact_texts(base, kb::test::valid_yaml("A.1.1", "", k_ready + a + b),
                                     kb::test::valid_yaml("A.1.1", "", k_ready + c));
  REQUIRE(merged.ok());
  auto events = events_of("A.1.1", merged->text);
  REQUIRE(events.size() == 5);
  CHECK(events[2].first == "in_progress");
  CHECK(events[3].first == "blocked");
  CHECK(events[4].first == "in_review");
  // The same event appended on both sides is one event.
  auto twice = merge_artifact_texts(base, kb::test::valid_yaml("A.1.1", "", k_ready + a),
                                    kb::test::valid_yaml("A.1.1", "", k_ready + a));
  REQUIRE(twice.ok());
  CHECK(events_of("A.1.1", twice->text).size() == 3);
}

TEST_CASE("fields changed on one side each merge; the same field changed two ways is a conflict "
          "around that entry only",
          "[artifact][merge]") {
  auto base = kb::test::valid_yaml("A.1.1");
  auto edit = [&](const std::string& key, const std::string& value, std::string text) {
    auto doc = kb::artifact::DocumentText::parse(text);
    REQUIRE(doc.ok());
    REQUIRE(doc->set_scalar({"metadata", key}, value, true).ok());
    return doc->text();
  };
  auto ours = edit("priority", "high", base);
  auto theirs = edit("estimation", "L", base);
  auto merged = merge_artifact_texts(base, ours, theirs);
  REQUIRE(merged.ok());
  CHECK(merged->conflicts.empty());
  auto a = kb::test::artifact_of("A.1.1", merged->text);
  CHECK(a.priority == "high");
  CHECK(a.estimation == "L");

  auto clash = merge_artifact_texts(base, edit("priority", "high", base),
                                    edit("priority", "low", edit("estimation", "L", base)));
  REQUIRE(clash.ok());
  CHECK(clash->conflicts == std::vector<std::string>{"metadata.priority"});
  CHECK(has_conflict_markers(clash->text));
  CHECK(clash->text.find("<<<<<<< ours\n  priority: high\n=======\n  priority: low\n>>>>>>> "
                         "theirs\n") != std::string::npos);
  CHECK(clash->text.find("  estimation: L\n") != std::string::npos); // merged despite the clash
  auto sides = split_conflict(clash->text);
  CHECK(kb::test::artifact_of("A.1.1", sides.ours).priority == "high");
  CHECK(kb::test::artifact_of("A.1.1", sides.theirs).priority == "low");
}

TEST_CASE("lists merge as ordered sets", "[artifact][merge]") {
  auto base = kb::test::valid_yaml("A.1.1", "    blocks: [A.1.2]\n    blocked_by: []\n");
  auto change = [&](auto&& edit) {
    auto doc = kb::artifact::DocumentText::parse(base);
    REQUIRE(doc.ok());
    edit(*doc);
    return doc->text();
  };
  auto ours = change([](auto& d) {
    REQUIRE(d.add_to_list({"content", "acceptance_criteria"}, "Ours too").ok());
    REQUIRE(d.add_to_list({"metadata", "relationships", "blocks"}, "A.1.3").ok());
  });
  auto theirs = change([](auto& d) {
    REQUIRE(d.add_to_list({"content", "acceptance_criteria"}, "Theirs too").ok());
    REQUIRE(d.remove_from_list({"metadata", "relationships", "blocks"}, "A.1.2").ok());
    REQUIRE(d.add_to_list({"metadata", "relationships", "blocks"}, "A.1.4").ok());
  });
  auto merged = merge_artifact_texts(base, ours, theirs);
  REQUIRE(merged.ok());
  auto a = kb::test::artifact_of("A.1.1", merged->text);
  CHECK(a.acceptance_criteria == std::vector<std::string>{"It works", "Ours too", "Theirs too"});
  CHECK(a.blocks == std::vector<std::string>{"A.1.3", "A.1.4"});
}

TEST_CASE("blocking dependencies resolve per dependency", "[artifact][merge]") {
  auto blocked = [](bool one, bool two) {
    auto dep = [](const char* id, bool resolved) {
      return std::string("          - artifact_id: ") + id + "\n            resolved: " +
             (resolved ? "true\n            resolved_at: \"2025-01-05T00:00:00Z\"\n" : "false\n");
    };
    return kb::test::valid_yaml("A.1.3", "    blocks: []\n    blocked_by: [A.1.1, A.1.2]\n",
                                event("blocked", "has_dependencies", "2025-01-02T00:00:00Z",
                                      "agent.system",
                                      "      metadata:\n        blocking_dependencies:\n" +
                                          dep("A.1.1", one) + dep("A.1.2", two)));
  };
  auto merged =
      merge_artifact_texts(blocked(false, false), blocked(true, false), blocked(false, true));
  REQUIRE(merged.ok());
  CHECK(merged->conflicts.empty());
  auto a = kb::test::artifact_of("A.1.3", merged->text);
  REQUIRE(a.events.at(1).blocking_dependencies.size() == 2);
  CHECK(a.events[1].blocking_dependencies[0].resolved);
  CHECK(a.events[1].blocking_dependencies[1].resolved);
}

TEST_CASE("a file both sides added merges; CRLF files stay CRLF", "[artifact][merge]") {
  auto ours = kb::test::valid_yaml("A.1.1", "", k_ready);
  auto theirs = kb::test::valid_yaml("A.1.1", "",
                                     event("blocked", "has_dependencies", "2025-01-02T00:00:00Z"));
  auto merged = merge_artifact_texts("", ours, theirs);
  REQUIRE(merged.ok());
  CHECK(events_of("A.1.1", merged->text).size() == 3);
  auto crlf = [](std::string s) {
    std::string out;
    for (char c : s)
      out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
  };
  auto base = kb::test::valid_yaml("A.1.1");
  auto both = merge_artifact_texts(crlf(base), crlf(kb::test::valid_yaml("A.1.1", "", k_ready)),
                                   crlf(base));
  REQUIRE(both.ok());
  CHECK(both->text.find("\n") == both->text.find("\r\n") + 1);
}

TEST_CASE("a side that does not parse is refused, for a merge of lines instead",
          "[artifact][merge]") {
  auto base = kb::test::valid_yaml("A.1.1");
  CHECK_FALSE(merge_artifact_texts(base, "metadata: [broken", base).ok());
  CHECK_FALSE(has_conflict_markers(base));
  CHECK(has_conflict_markers("a: 1\n<<<<<<< HEAD\nb: 2\n=======\nb: 3\n>>>>>>> x\n"));
  auto sides =
      split_conflict("a: 1\n<<<<<<< HEAD\nb: 2\n||||||| base\nb: 1\n=======\nb: 3\n>>>>>>> x\n");
  CHECK(sides.ours == "a: 1\nb: 2\n");
  CHECK(sides.base == "a: 1\nb: 1\n");
  CHECK(sides.theirs == "a: 1\nb: 3\n");
}

TEST_CASE("property: a random history split across two branches merges to the one-branch "
          "document",
          "[artifact][merge][property]") {
  std::mt19937 rng(20261201);
  const std::vector<std::string> lists = {"acceptance_criteria"};
  const std::vector<std::pair<std::string, std::vector<std::string>>> fields = {
      {"priority", {"low", "medium", "high", "critical"}},
      {"estimation", {"XS", "S", "M", "L", "XL"}},
      {"assignee", {"\"Grace Hopper (grace@example.com)\"", "\"Alan Turing (alan@example.com)\""}}};
  int interleaved = 0; // trials whose two branches both added events
  for (int trial = 0; trial < 200; ++trial) {
    INFO("trial " << trial);
    auto base = kb::test::valid_yaml("A.1.1", "", k_ready);
    // Operations: timed events, field edits, criteria; each goes to one branch.
    struct Op {
      int kind; // 0 event, 1 field, 2 criterion
      std::string a, b;
      bool theirs;
    };
    std::vector<Op> ops;
    int n = 1 + static_cast<int>(rng() % 6);
    std::vector<bool> field_side(fields.size(), false), field_used(fields.size(), false);
    for (int i = 0; i < n; ++i) {
      bool theirs = rng() % 2;
      int kind = static_cast<int>(rng() % 3);
      if (kind == 0) {
        char time[32];
        std::snprintf(time, sizeof time, "2025-02-%02uT%02u:%02u:00Z",
                      static_cast<unsigned>(1 + rng() % 27), static_cast<unsigned>(rng() % 24),
                      static_cast<unsigned>(rng() % 60));
        const char* names[] = {"blocked", "ready", "in_progress"};
        ops.push_back({0, names[rng() % 3], time, theirs});
      } else if (kind == 1) {
        size_t f = rng() % fields.size();
        if (field_used[f])
          theirs = field_side[f]; // one branch owns a field: no conflict by design
        field_used[f] = true;
        field_side[f] = theirs;
        ops.push_back(
            {1, fields[f].first, fields[f].second[rng() % fields[f].second.size()], theirs});
      } else {
        ops.push_back(
            {2, "Criterion " + std::to_string(trial) + "." + std::to_string(i), "", theirs});
      }
    }
    auto apply = [&](bool ours_side, bool theirs_side) {
      auto doc = kb::artifact::DocumentText::parse(base);
      REQUIRE(doc.ok());
      std::vector<Op> timed;
      for (const auto& op : ops) {
        if ((op.theirs && !theirs_side) || (!op.theirs && !ours_side))
          continue;
        if (op.kind == 0)
          timed.push_back(op);
        else if (op.kind == 1)
          REQUIRE(doc->set_scalar({"metadata", op.a}, op.b, true).ok());
      }
      // One branch: criteria of ours first, then theirs (the order a merge keeps).
      for (bool side : {false, true})
        for (const auto& op : ops)
          if (op.kind == 2 && op.theirs == side && (side ? theirs_side : ours_side))
            REQUIRE(doc->add_to_list({"content", "acceptance_criteria"}, op.a).ok());
      std::stable_sort(timed.begin(), timed.end(),
                       [](const Op& x, const Op& y) { return x.b < y.b; });
      for (const auto& op : timed) {
        kb::artifact::YamlNode e;
        e.kind = kb::artifact::YamlNode::Kind::mapping;
        for (auto [k, v] : {std::pair<std::string, std::string>{"event", op.a},
                            {"timestamp", op.b},
                            {"actor", "Ada Lovelace (ada@example.com)"},
                            {"trigger", "manual"}})
          e.entries.push_back({k, {}, kb::artifact::scalar_node(v, k != "event")});
        REQUIRE(doc->append_event(e).ok());
      }
      return doc->text();
    };
    auto ours = apply(true, false), theirs = apply(false, true), one = apply(true, true);
    bool ours_events = false, theirs_events = false;
    for (const auto& op : ops)
      (op.theirs ? theirs_events : ours_events) |= op.kind == 0;
    interleaved += ours_events && theirs_events;
    auto merged = merge_artifact_texts(base, ours, theirs);
    REQUIRE(merged.ok());
    CHECK(merged->conflicts.empty());
    auto m = kb::test::artifact_of("A.1.1", merged->text);
    auto expected = kb::test::artifact_of("A.1.1", one);
    CHECK(m.document.to_json() == expected.document.to_json());
  }
  CHECK(interleaved > 20); // the property was put to the test
}
