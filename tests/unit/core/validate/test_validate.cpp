#include "core/util/file.hpp"
#include "core/util/text.hpp"
#include "core/validate/rules.hpp"
#include "core/validate/text_rules.hpp"
#include "core/validate/validator.hpp"
#include "tests/unit/support.hpp"

#include <nlohmann/json.hpp>

using namespace kb::validate;
using kb::test::valid_yaml;

namespace {

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

const Finding* find_code(const std::vector<Finding>& findings, const std::string& code) {
  for (const auto& f : findings)
    if (f.code == code)
      return &f;
  return nullptr;
}

std::string codes(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings)
    out += f.code + "@" + f.field + " ";
  return out;
}

std::vector<Finding> validate_text(const std::string& id, const std::string& text,
                                   Mode mode = Mode::lenient) {
  return validate_artifact(kb::test::artifact_of(id, text), mode);
}

std::string event(const char* state, const char* trigger, const char* ts = "2025-01-02T00:00:00Z",
                  const char* actor = "agent.system") {
  return std::string("    - event: ") + state + "\n      timestamp: \"" + ts +
         "\"\n      actor: \"" + actor + "\"\n      trigger: " + trigger + "\n";
}

} // namespace

TEST_CASE("the valid fixtures validate cleanly", "[validate][fixtures]") {
  for (auto [file, id] : {std::pair{"issue.valid.yaml", "A.1.1"},
                          {"milestone.valid.yaml", "A.1"},
                          {"initiative.valid.yaml", "A"},
                          {"issue.lifecycle.valid.yaml", "A.1.2"},
                          {"milestone.lifecycle.equal-timestamps.yaml", "A.2"}}) {
    auto text =
        kb::util::read_file(kb::test::fixture(std::string("kodebase-core/artifacts/") + file));
    REQUIRE(text.ok());
    for (auto mode : {Mode::lenient, Mode::strict}) {
      auto findings = validate_text(id, *text, mode);
      INFO(file << ": " << codes(findings));
      CHECK(findings.empty());
    }
  }
}

TEST_CASE("the JSON fixtures read the same as their YAML twins", "[validate][fixtures]") {
  for (auto name : {"issue", "milestone", "initiative"}) {
    auto base = kb::test::fixture(std::string("kodebase-core/artifacts/") + name + ".valid");
    auto yaml = kb::artifact::parse_yaml(*kb::util::read_file(base.string() + ".yaml"));
    auto json = nlohmann::json::parse(*kb::util::read_file(base.string() + ".json"));
    REQUIRE(yaml.ok());
    CHECK(yaml->to_json() == json);
  }
}

TEST_CASE("the invalid fixtures give the expected code at the expected path",
          "[validate][fixtures]") {
  for (auto [name, id] : {std::pair{"issue.invalid.missing-criteria", "A.1.1"},
                          {"milestone.invalid.missing-deliverables", "A.1"}}) {
    auto base = kb::test::fixture(std::string("kodebase-core/artifacts/") + name);
    auto expected = nlohmann::json::parse(*kb::util::read_file(base.string() + ".error.json"));
    auto findings = validate_text(id, *kb::util::read_file(base.string() + ".yaml"));
    INFO(codes(findings));
    for (const auto& issue : expected["issues"]) {
      const Finding* f = find_code(findings, issue["code"]);
      REQUIRE(f);
      CHECK(f->field == issue["path"].get<std::string>());
      CHECK(f->mark.line > 0);
    }
  }
  auto order =
      validate_text("A", *kb::util::read_file(kb::test::fixture(
                             "kodebase-core/artifacts/initiative.lifecycle.invalid-order.yaml")));
  const Finding* f = find_code(order, "EVENTS_OUT_OF_ORDER");
  REQUIRE(f);
  CHECK(f->field == "metadata.events[1].timestamp");
  CHECK(f->mark.line == 17);
}

TEST_CASE("the dependency fixtures: siblings pass the sibling rules, cross-level fails",
          "[validate][fixtures]") {
  auto load = [](const char* file) {
    auto j = nlohmann::json::parse(
        *kb::util::read_file(kb::test::fixture(std::string("kodebase-core/dependencies/") + file)));
    std::map<std::string, std::string> files;
    for (auto& [id, doc] : j.items())
      files[id] = doc.dump(); // JSON is YAML
    return kb::test::index_of(files);
  };
  auto siblings = validate_index(load("valid-siblings.json"), Mode::lenient);
  for (const auto& f : siblings.findings) {
    CHECK(f.code != "CROSS_LEVEL_DEPENDENCY");
    CHECK(f.code.rfind("RELATIONSHIP_DIFFERENT", 0) != 0);
    CHECK(f.code != "CIRCULAR_DEPENDENCY");
  }
  // The fixture's pairs are one-sided on purpose: reported once per pair.
  size_t pairs = 0;
  for (const auto& f : siblings.findings)
    pairs += f.code == "RELATIONSHIP_INCONSISTENT_PAIR";
  CHECK(pairs == 2);
  auto cross = validate_index(load("invalid-cross-level.json"), Mode::lenient);
  std::set<std::string> flagged;
  for (const auto& f : cross.findings)
    if (f.code == "CROSS_LEVEL_DEPENDENCY")
      flagged.insert(f.id);
  CHECK(flagged == std::set<std::string>{"A.1", "A.1.1"});
}

TEST_CASE("every schema and event rule has its code", "[validate][codes]") {
  struct Case {
    const char* code;
    const char* id;
    std::string text;
    const char* field;
  };
  const std::string issue = valid_yaml("A.1.1");
  const std::string milestone = valid_yaml("A.1");
  const std::string initiative = valid_yaml("A");
  std::vector<Case> cases = {
      {"invalid_type", "A.1.1", replace(issue, "  summary: \"Do the thing\"\n", ""),
       "content.summary"},
      {"invalid_type", "A.1.1", replace(issue, "  title: \"Artifact A.1.1\"\n", "  title: [x]\n"),
       "metadata.title"},
      {"too_small", "A.1.1", replace(issue, "Artifact A.1.1", "ab"), "metadata.title"},
      {"too_big", "A.1.1", replace(issue, "Artifact A.1.1", std::string(101, 'x')),
       "metadata.title"},
      {"too_small", "A.1",
       replace(milestone, "  deliverables:\n    - \"A release\"\n", "  deliverables: []\n"),
       "content.deliverables"},
      {"invalid_enum_value", "A.1.1", replace(issue, "priority: medium", "priority: urgent"),
       "metadata.priority"},
      {"invalid_enum_value", "A.1.1", replace(issue, "estimation: S", "estimation: XXL"),
       "metadata.estimation"},
      {"SCHEMA_VERSION_INVALID", "A.1.1", replace(issue, "\"0.0.1\"", "\"v1\""),
       "metadata.schema_version"},
      {"ACTOR_INVALID", "A.1.1",
       replace(issue, "  assignee: \"Ada Lovelace (ada@example.com)\"", "  assignee: \"Unknown\""),
       "metadata.assignee"},
      {"invalid_string", "A.1.1",
       issue + "implementation_notes:\n  result: \"ok\"\n  tags: [Not_Kebab]\n",
       "implementation_notes.tags[0]"},
      {"invalid_type", "A.1.1", issue + "implementation_notes:\n  tags: [a]\n",
       "implementation_notes.result"},
      {"invalid_type", "A.1",
       milestone + "delivery_summary:\n  outcome: \"x\"\n  delivered: [\"y\"]\n",
       "delivery_summary.next"},
      {"too_small", "A",
       initiative + "impact_summary:\n  outcome: \"x\"\n  benefits: []\n  next: \"z\"\n",
       "impact_summary.benefits"},
      {"invalid_type", "A.1.1", issue + "notes: {a: 1}\n", "notes"},
      {"EMPTY_EVENTS", "A.1.1",
       replace(issue,
               "  events:\n    - event: draft\n      timestamp: \"2025-01-01T00:00:00Z\"\n      "
               "actor: \"Ada Lovelace (ada@example.com)\"\n      trigger: artifact_created\n",
               "  events: []\n"),
       "metadata.events"},
      {"FIRST_EVENT_MUST_BE_DRAFT", "A.1.1", replace(issue, "event: draft", "event: ready"),
       "metadata.events[0].event"},
      {"EVENTS_OUT_OF_ORDER", "A.1.1",
       valid_yaml("A.1.1", "", event("ready", "dependencies_met", "2024-12-31T00:00:00Z")),
       "metadata.events[1].timestamp"},
      {"EVENT_TYPE_INVALID", "A.1.1", valid_yaml("A.1.1", "", event("started", "branch_created")),
       "metadata.events[1].event"},
      {"TIMESTAMP_INVALID", "A.1.1",
       valid_yaml("A.1.1", "", event("ready", "dependencies_met", "2025-10-15:30:10Z")),
       "metadata.events[1].timestamp"},
      {"ACTOR_INVALID", "A.1.1",
       valid_yaml("A.1.1", "",
                  event("ready", "dependencies_met", "2025-01-02T00:00:00Z", "Unknown")),
       "metadata.events[1].actor"},
      {"TRIGGER_INVALID", "A.1.1", valid_yaml("A.1.1", "", event("ready", "pr_Ready")),
       "metadata.events[1].trigger"},
      {"INVALID_STATE_TRANSITION", "A.1.1",
       valid_yaml("A.1.1", "", event("completed", "pr_merged")), "metadata.events[1].event"},
      {"BLOCKING_DEPENDENCIES_MISSING", "A.1.1",
       valid_yaml("A.1.1", "", event("blocked", "has_dependencies")),
       "metadata.events[1].metadata.blocking_dependencies"},
      {"BLOCKING_DEPENDENCY_NOT_LISTED", "A.1.1",
       valid_yaml("A.1.1", "",
                  event("blocked", "has_dependencies") +
                      "      metadata:\n        blocking_dependencies:\n          - artifact_id: "
                      "A.1.2\n            resolved: false\n"),
       "metadata.events[1].metadata.blocking_dependencies[0].artifact_id"},
      {"RELATIONSHIP_NOT_ARRAY", "A.1.1",
       valid_yaml("A.1.1", "    blocks: A.1.2\n    blocked_by: []\n"),
       "metadata.relationships.blocks"},
      {"RELATIONSHIP_INVALID_ID", "A.1.1",
       valid_yaml("A.1.1", "    blocks: [nope]\n    blocked_by: []\n"),
       "metadata.relationships.blocks[0]"},
      {"RELATIONSHIP_WRONG_TYPE", "A.1.1",
       valid_yaml("A.1.1", "    blocks: [A.2]\n    blocked_by: []\n"),
       "metadata.relationships.blocks[0]"},
      {"RELATIONSHIP_DIFFERENT_INITIATIVE", "A.1",
       valid_yaml("A.1", "    blocks: []\n    blocked_by: [B.1]\n"),
       "metadata.relationships.blocked_by[0]"},
      {"RELATIONSHIP_DIFFERENT_MILESTONE", "A.1.1",
       valid_yaml("A.1.1", "    blocks: []\n    blocked_by: [A.2.1]\n"),
       "metadata.relationships.blocked_by[0]"},
  };
  for (const auto& c : cases) {
    auto findings = validate_text(c.id, c.text);
    INFO(c.code << " at " << c.field << " got: " << codes(findings));
    bool found = false;
    for (const auto& f : findings)
      if (f.code == c.code && f.field == c.field) {
        found = true;
        CHECK_FALSE(f.message.empty());
        CHECK_FALSE(f.fix.empty());
        CHECK(f.severity == Severity::error);
        CHECK(f.mark.line > 0);
      }
    CHECK(found);
  }
}

TEST_CASE("a trigger that cannot cause its event is tolerated, an error when strict",
          "[validate][codes]") {
  // The Kodebase team's own files have `ready` caused by `pr_merged`.
  auto text = valid_yaml("A.1.1", "", event("ready", "pr_merged"));
  auto lenient_findings = validate_text("A.1.1", text);
  const Finding* lenient = find_code(lenient_findings, "TRIGGER_EVENT_MISMATCH");
  REQUIRE(lenient);
  CHECK(lenient->severity == Severity::warning);
  CHECK(lenient->field == "metadata.events[1].trigger");
  auto strict_findings = validate_text("A.1.1", text, Mode::strict);
  const Finding* strict = find_code(strict_findings, "TRIGGER_EVENT_MISMATCH");
  REQUIRE(strict);
  CHECK(strict->severity == Severity::error);
}

TEST_CASE("a completion block of another type is a warning", "[validate][codes]") {
  auto findings =
      validate_text("A.1.1", valid_yaml("A.1.1") + "delivery_summary:\n  outcome: \"x\"\n");
  const Finding* f = find_code(findings, "UNEXPECTED_COMPLETION_BLOCK");
  REQUIRE(f);
  CHECK(f->severity == Severity::warning);
  CHECK(f->field == "delivery_summary");
}

TEST_CASE("tolerated deviations warn by default and fail in strict mode", "[validate][modes]") {
  auto legacy_actor = valid_yaml(
      "A.1.1", "",
      event("ready", "dependencies_met", "2025-01-02T00:00:00Z", "Kodebase CLI (cli@v1.0.0)"));
  auto fractional =
      valid_yaml("A.1.1", "", event("ready", "dependencies_met", "2025-01-02T00:00:00.123Z"));
  auto scope_text = replace(valid_yaml("A"), "  scope:\n    in: [\"x\"]\n    out: [\"y\"]\n",
                            "  scope: \"Everything about parsing\"\n");
  auto scope_lists = replace(valid_yaml("A"), "  scope:\n    in: [\"x\"]\n    out: [\"y\"]\n",
                             "  in_scope: [\"x\"]\n  out_of_scope: [\"y\"]\n");
  auto no_relationships =
      replace(valid_yaml("A.1.1"), "  relationships:\n    blocks: []\n    blocked_by: []\n", "");
  for (auto [id, text, code] : {std::tuple{"A.1.1", legacy_actor, "ACTOR_INVALID"},
                                {"A.1.1", fractional, "TIMESTAMP_INVALID"},
                                {"A", scope_text, "SCOPE_LEGACY_FORM"},
                                {"A", scope_lists, "SCOPE_LEGACY_FORM"},
                                {"A.1.1", no_relationships, "invalid_type"}}) {
    auto lenient = validate_text(id, text, Mode::lenient);
    auto strict = validate_text(id, text, Mode::strict);
    INFO(code << " lenient: " << codes(lenient));
    REQUIRE(find_code(lenient, code));
    CHECK(find_code(lenient, code)->severity == Severity::warning);
    REQUIRE(find_code(strict, code));
    CHECK(find_code(strict, code)->severity == Severity::error);
  }
}

TEST_CASE("graph rules: unknown targets, inconsistent pairs, cross-level, cycles",
          "[validate][graph]") {
  auto rel = [](const char* blocks, const char* blocked_by) {
    return std::string("    blocks: [") + blocks + "]\n    blocked_by: [" + blocked_by + "]\n";
  };
  auto index = kb::test::index_of({
      {"A", valid_yaml("A")},
      {"A.1", valid_yaml("A.1", rel("", "A"))},
      {"A.1.1", valid_yaml("A.1.1", rel("A.1.2", "A.1.3"))},
      {"A.1.2", valid_yaml("A.1.2", rel("A.1.3", "A.1.1"))},
      {"A.1.3", valid_yaml("A.1.3", rel("A.1.1", "A.1.2"))},
      {"A.1.4", valid_yaml("A.1.4", rel("", "A.1.9"))},
      {"A.1.5", valid_yaml("A.1.5", rel("A.1.4", ""))},
  });
  auto report = validate_index(index, Mode::lenient);
  std::map<std::string, std::vector<const Finding*>> by_code;
  for (const auto& f : report.findings)
    by_code[f.code].push_back(&f);
  REQUIRE(by_code["CIRCULAR_DEPENDENCY"].size() == 1);
  CHECK(by_code["CIRCULAR_DEPENDENCY"][0]->message.find("A.1.1 -> A.1.3 -> A.1.2 -> A.1.1") !=
        std::string::npos);
  REQUIRE(by_code["CROSS_LEVEL_DEPENDENCY"].size() == 1);
  CHECK(by_code["CROSS_LEVEL_DEPENDENCY"][0]->id == "A.1");
  REQUIRE(by_code["RELATIONSHIP_UNKNOWN_ARTIFACT"].size() == 1);
  CHECK(by_code["RELATIONSHIP_UNKNOWN_ARTIFACT"][0]->message.find("A.1.9") != std::string::npos);
  // A.1 names A in blocked_by without A naming A.1 in blocks; A.1.5 blocks A.1.4 one-sidedly.
  REQUIRE(by_code["RELATIONSHIP_INCONSISTENT_PAIR"].size() == 2);
  CHECK(by_code["RELATIONSHIP_INCONSISTENT_PAIR"][0]->id == "A.1");
  CHECK(by_code["RELATIONSHIP_INCONSISTENT_PAIR"][1]->id == "A.1.5");
  CHECK_FALSE(report.valid());
}

TEST_CASE("file problems are findings, and `only` limits the report", "[validate]") {
  auto index = kb::test::index_of({{"A", valid_yaml("A")}, {"B", "metadata: [\n"}});
  auto all = validate_index(index, Mode::lenient);
  REQUIRE(find_code(all.findings, "YAML_SYNTAX_ERROR"));
  CHECK(find_code(all.findings, "YAML_SYNTAX_ERROR")->id == "B");
  auto only_a = validate_index(index, Mode::lenient, {*kb::artifact::ArtifactId::parse("A")});
  CHECK(only_a.findings.empty());
  CHECK(only_a.artifacts == 1);
}

TEST_CASE("actor forms", "[validate][actor]") {
  CHECK(is_strict_actor("Ada Lovelace (ada@example.com)"));
  CHECK(is_strict_actor("agent.system"));
  CHECK(is_strict_actor("agent.cascade@github"));
  CHECK(is_strict_actor("Codex (agent.codex.session20251031T1738Z@kodebase.kodebase.ai)"));
  CHECK_FALSE(is_strict_actor("Kodebase CLI (cli@v1.0.0)"));
  CHECK(is_legacy_actor("Kodebase CLI (cli@v1.0.0)"));
  CHECK_FALSE(is_strict_actor("agent.claude"));
  CHECK_FALSE(is_strict_actor("Unknown"));
  CHECK_FALSE(is_legacy_actor("Unknown"));
  CHECK_FALSE(is_strict_actor("Ada (ada@example)"));
}

TEST_CASE("lengths count UTF-16 code units and trim() is JavaScript's", "[validate][text]") {
  using kb::util::js_length;
  using kb::util::js_trim;
  CHECK(js_length("abc") == 3);
  CHECK(js_length("日本") == 2);                 // 6 bytes, 2 units
  CHECK(js_length("\xF0\x9F\x98\x80") == 2);     // one emoji, a surrogate pair
  CHECK(js_length("e\xCC\x81") == 2);            // e + combining acute: two code points
  CHECK(js_length(std::string("\xFF", 1)) == 1); // a stray byte counts once
  // Every character JavaScript's trim() removes, and some it keeps.
  const char* spaces[] = {"\t",           "\n",           "\v",
                          "\f",           "\r",           " ",
                          "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80",
                          "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9",
                          "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80",
                          "\xEF\xBB\xBF"};
  for (const char* s : spaces) {
    INFO("whitespace " << kb::util::to_hex(s));
    CHECK(js_trim(std::string(s) + "x" + s) == "x");
    CHECK(js_trim(s).empty());
  }
  CHECK(js_trim("\xE2\x80\x8B"
                "x") == "\xE2\x80\x8B"
                        "x");                       // U+200B is not whitespace
  CHECK(js_trim("\xE1\xA0\x8E") == "\xE1\xA0\x8E"); // nor U+180E (no longer Zs)
  CHECK(js_trim(" a b ") == "a b");
}

TEST_CASE("text rules as upstream counts them", "[validate][text]") {
  const std::string issue = valid_yaml("A.1.1");
  auto title = [&](const std::string& t) {
    return validate_text("A.1.1", replace(issue, "Artifact A.1.1", t));
  };
  // Two CJK characters are too short although they are 6 bytes; 60 are fine although 180 bytes.
  CHECK(find_code(title("日本"), "too_small"));
  std::string sixty;
  for (int i = 0; i < 60; ++i)
    sixty += "日";
  CHECK(codes(title(sixty)).empty());
  // zod releases in upstream's range count code points or UTF-16 units: the floor counts code
  // points (two emoji are 4 units but 2 characters: too short), the ceiling units.
  CHECK(find_code(title("\xF0\x9F\x98\x80\xF0\x9F\x98\x80"), "too_small"));
  CHECK(codes(title("\xF0\x9F\x98\x80\xF0\x9F\x98\x80x")).empty());
  // 50 emoji are 100 units (fine), 51 are 102 (too long).
  std::string emoji;
  for (int i = 0; i < 50; ++i)
    emoji += "\xF0\x9F\x98\x80";
  CHECK(codes(title(emoji)).empty());
  CHECK(find_code(title(emoji + "\xF0\x9F\x98\x80"), "too_big"));
  // Upstream does not trim a title: three spaces pass, as there.
  CHECK(codes(title("   ")).empty());
  // A criterion of only a no-break space (or an ideographic space) is empty to upstream.
  for (const char* blank : {"\xC2\xA0", "\xE3\x80\x80", "\xEF\xBB\xBF"}) {
    auto text = replace(issue, "    - \"It works\"\n", std::string("    - \"") + blank + "\"\n");
    CHECK(find_code(validate_text("A.1.1", text), "too_small"));
  }
  CHECK(find_code(validate_text("A.1.1", issue + "implementation_notes:\n  result: \"\xC2\xA0\"\n"),
                  "too_small"));
}

TEST_CASE("writes check text by the validator's rules", "[validate][text]") {
  using kb::validate::text_problem;
  CHECK_FALSE(text_problem("the title", "abc", kb::validate::k_title_rule));
  CHECK_FALSE(text_problem("the title", "   ", kb::validate::k_title_rule)); // untrimmed
  auto short_title = text_problem("the title", "日本", kb::validate::k_title_rule);
  CHECK(short_title.code == "too_small");
  CHECK(short_title.message == "the title must have at least 3 characters (has 2)");
  // One line: line feeds, tabs, U+2028 and U+2029 break it; the validator leaves that to writes.
  for (const char* broken : {"a\nbc", "a\tbc",
                             "a\xE2\x80\xA8"
                             "bc",
                             "a\xE2\x80\xA9"
                             "bc"}) {
    INFO(kb::util::to_hex(broken));
    CHECK(text_problem("the title", broken, kb::validate::k_title_rule).code == "not_one_line");
    CHECK_FALSE(text_problem("the title", broken, kb::validate::k_title_rule, false));
  }
  CHECK(text_problem("the result", "done\nthen more", kb::validate::k_line_rule).code ==
        "not_one_line");
  auto blank = text_problem("note 1", "\xC2\xA0", kb::validate::k_text_rule);
  CHECK(blank.message == "note 1 must not be empty (it holds only white space)");
  CHECK(text_problem("note 1", "", kb::validate::k_text_rule).message ==
        "note 1 must not be empty");
  CHECK_FALSE(text_problem("note 1", "a\nb", kb::validate::k_text_rule)); // notes may span lines
}

TEST_CASE("a resolved blocking dependency need not be a link any more", "[validate][codes]") {
  // An unlink of a cancelled blocker: the blocked event's resolved entry is history.
  auto text = valid_yaml("A.1.1", "",
                         event("blocked", "has_dependencies") +
                             "      metadata:\n        blocking_dependencies:\n"
                             "          - artifact_id: A.1.2\n            resolved: "
                             "true\n            resolved_at: "
                             "\"2025-01-03T00:00:00Z\"\n");
  auto findings = validate_text("A.1.1", text, Mode::strict);
  CHECK_FALSE(find_code(findings, "BLOCKING_DEPENDENCY_NOT_LISTED"));
}

TEST_CASE("content keys of another type are flagged", "[validate][codes]") {
  auto issue = replace(valid_yaml("A.1.1"), "  summary: \"Do the thing\"\n",
                       "  summary: \"Do the thing\"\n  vision: \"Lost upstream\"\n");
  auto lenient_findings = validate_text("A.1.1", issue);
  const Finding* lenient = find_code(lenient_findings, "CONTENT_KEY_OF_OTHER_TYPE");
  REQUIRE(lenient);
  CHECK(lenient->severity == Severity::warning);
  CHECK(lenient->field == "content.vision");
  CHECK(lenient->message == "content.vision belongs to initiatives, not to issues; upstream "
                            "drops it");
  CHECK(lenient->mark.line > 0);
  auto strict_findings = validate_text("A.1.1", issue, Mode::strict);
  const Finding* strict = find_code(strict_findings, "CONTENT_KEY_OF_OTHER_TYPE");
  REQUIRE(strict);
  CHECK(strict->severity == Severity::error);

  // summary is both an issue's and a milestone's, not an initiative's.
  auto milestone = replace(valid_yaml("A.1"), "  summary: \"Ship it\"\n",
                           "  summary: \"Ship it\"\n  acceptance_criteria: [\"x\"]\n");
  auto milestone_findings = validate_text("A.1", milestone);
  const Finding* m = find_code(milestone_findings, "CONTENT_KEY_OF_OTHER_TYPE");
  REQUIRE(m);
  CHECK(m->field == "content.acceptance_criteria");
  auto initiative = replace(valid_yaml("A"), "  vision: \"Better\"\n",
                            "  vision: \"Better\"\n  summary: \"Also\"\n");
  auto initiative_findings = validate_text("A", initiative);
  const Finding* i = find_code(initiative_findings, "CONTENT_KEY_OF_OTHER_TYPE");
  REQUIRE(i);
  CHECK(i->message == "content.summary belongs to issues and milestones, not to initiatives; "
                      "upstream drops it");
  // Keys no type has are left alone, and the valid forms carry nothing.
  auto custom = replace(valid_yaml("A.1.1"), "  summary: \"Do the thing\"\n",
                        "  summary: \"Do the thing\"\n  design_link: \"x\"\n");
  CHECK(validate_text("A.1.1", custom).empty());
  for (auto id : {"A", "A.1", "A.1.1"})
    CHECK(validate_text(id, valid_yaml(id)).empty());
}

TEST_CASE("a file in the folder of an artifact that is not its parent is flagged",
          "[validate][codes]") {
  using kb::artifact::foreign_folder;
  auto id = [](const char* text) { return *kb::artifact::ArtifactId::parse(text); };
  std::string root = "/r/.kodebase/artifacts/";
  // The layouts kodebase writes and the flat legacy one fit.
  CHECK_FALSE(foreign_folder(root + "A.x/A.yml", id("A")));
  CHECK_FALSE(foreign_folder(root + "A.x/A.1.y/A.1.yml", id("A.1")));
  CHECK_FALSE(foreign_folder(root + "A.x/A.1.y/A.1.2.z.yml", id("A.1.2")));
  CHECK_FALSE(foreign_folder(root + "A.1/A.1.2.yml", id("A.1.2")));
  CHECK_FALSE(foreign_folder(root + "A.yml", id("A")));
  CHECK_FALSE(foreign_folder(root + "archive/old/A.1.2.yml", id("A.1.2")));
  // Folders named like another artifact do not.
  CHECK(foreign_folder(root + "B.1.x/A.1.1.y.yml", id("A.1.1")) == id("B.1"));
  CHECK(foreign_folder(root + "A.x/A.2.y/A.1.1.yml", id("A.1.1")) == id("A.2"));
  CHECK(foreign_folder(root + "A.x/A.1.1.y/A.1.yml", id("A.1")) == id("A.1.1"));
  CHECK(foreign_folder(root + "B/A.yml", id("A")) == id("B"));
  // Folders above the artifacts folder do not count.
  CHECK_FALSE(foreign_folder("/home/B.1/.kodebase/artifacts/A.x/A.yml", id("A")));

  auto misfiled = kb::artifact::read_artifact_text(id("A.1.1"), root + "B.x/B.1.y/A.1.1.z.yml",
                                                   valid_yaml("A.1.1"));
  auto findings = validate_artifact(std::get<kb::artifact::Artifact>(misfiled), Mode::lenient);
  const Finding* f = find_code(findings, "PATH_ID_MISMATCH");
  REQUIRE(f);
  CHECK(f->severity == Severity::error);
  CHECK(f->message == "A.1.1 lies in the folder of B, but its ID makes it a child of A.1");
}
