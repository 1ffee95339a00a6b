#include "core/artifact/index.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/util/file.hpp"
#include "tests/unit/support.hpp"

using namespace kb::artifact;

TEST_CASE("file names give IDs, slugs are optional and tolerant", "[artifact][layout]") {
  CHECK(id_from_filename("A.yml")->str() == "A");
  CHECK(id_from_filename("A.1.1.backend-api.yml")->str() == "A.1.1");
  CHECK(id_from_filename("A.1.development-phase.yml")->str() == "A.1");
  CHECK(id_from_filename("A.1.2.3d-render.yml")->str() == "A.1.2");
  CHECK(id_from_filename("AB.12.yml")->str() == "AB.12");
  for (auto bad : {"A.yaml", ".A.yml", "README.md", "a.yml", "A.-x.yml", "A.1.yml.bak", ".yml"})
    CHECK_FALSE(id_from_filename(bad));
}

TEST_CASE("slugs are lower-case words joined by dashes", "[artifact][layout]") {
  CHECK(slugify("Backend API Implementation") == "backend-api-implementation");
  CHECK(slugify("  Ops & Docs -- phase 2! ") == "ops-docs-phase-2");
  CHECK(slugify("!!!") == "");
  CHECK(slugify(std::string(100, 'a')).size() == 60);
}

TEST_CASE("new artifacts get folder and file paths by type", "[artifact][layout]") {
  std::filesystem::path root = "/p/.kodebase/artifacts";
  CHECK(path_for_new(root, *ArtifactId::parse("C"), "new-thing", std::nullopt) ==
        root / "C.new-thing" / "C.yml");
  auto initiative_file = root / "A.core" / "A.yml";
  CHECK(path_for_new(root, *ArtifactId::parse("A.3"), "api", initiative_file) ==
        root / "A.core" / "A.3.api" / "A.3.yml");
  auto milestone_file = root / "A.core" / "A.3.api" / "A.3.yml";
  CHECK(path_for_new(root, *ArtifactId::parse("A.3.1"), "login", milestone_file) ==
        root / "A.core" / "A.3.api" / "A.3.1.login.yml");
  CHECK(path_for_new(root, *ArtifactId::parse("A.3.2"), "", milestone_file) ==
        root / "A.core" / "A.3.api" / "A.3.2.yml");
}

TEST_CASE("the YAML reader keeps positions, unknown keys and timestamps as text",
          "[artifact][yaml]") {
  auto doc = parse_yaml("metadata:\n  title: x\n  custom_key: [1, two]\nevents:\n"
                        "  - timestamp: 2025-07-06T14:32:00Z\n    n: 12\n    q: \"12\"\n");
  REQUIRE(doc.ok());
  const YamlNode* title = doc->find("metadata")->find("title");
  CHECK(title->mark.line == 2);
  CHECK(title->mark.column == 10);
  const YamlNode* custom = doc->find("metadata")->find("custom_key");
  REQUIRE(custom);
  CHECK(custom->flow);
  auto j = doc->to_json();
  CHECK(j["metadata"]["custom_key"] == nlohmann::json::parse(R"([1, "two"])"));
  CHECK(j["events"][0]["timestamp"] == "2025-07-06T14:32:00Z");
  CHECK(j["events"][0]["n"] == 12);
  CHECK(j["events"][0]["q"] == "12");
}

TEST_CASE("a YAML syntax error reports its line and column", "[artifact][yaml]") {
  auto doc = parse_yaml("metadata:\n  title: ok\n  list: [1, 2\n");
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.error().details["line"].get<int>() >= 2);
  CHECK(doc.error().details["column"].get<int>() >= 1);
}

TEST_CASE("odd files become problems, not failures", "[artifact][reader]") {
  auto id = *ArtifactId::parse("A.1.1");
  auto syntax = read_artifact_text(id, "/x.yml", "metadata: [unclosed\n");
  REQUIRE(std::holds_alternative<FileProblem>(syntax));
  CHECK(std::get<FileProblem>(syntax).code == "YAML_SYNTAX_ERROR");
  CHECK(std::get<FileProblem>(syntax).mark.line >= 1);
  for (auto text : {"", "- a\n- b\n", "just text\n"}) {
    auto read = read_artifact_text(id, "/x.yml", text);
    REQUIRE(std::holds_alternative<FileProblem>(read));
    CHECK(std::get<FileProblem>(read).code == "INVALID_DOCUMENT");
  }
  // Wrong shapes still load; validation reports them.
  auto odd = read_artifact_text(id, "/x.yml", "metadata:\n  title: [1]\n  events: 3\nextra: 1\n");
  REQUIRE(std::holds_alternative<Artifact>(odd));
  CHECK(std::get<Artifact>(odd).title.empty());
}

TEST_CASE("the loader tree loads with its states and skips dot-entries", "[artifact][loader]") {
  auto index = load_index(kb::test::fixture("kodebase-core/loader-tree"));
  CHECK(index.size() == 12);
  CHECK(index.problems().empty());
  std::map<std::string, std::string> expected = {
      {"A", "in_progress"},   {"A.1", "in_progress"},   {"A.1.1", "in_progress"},
      {"A.1.2", "completed"}, {"A.1.3", "blocked"},     {"A.1.4", "blocked"},
      {"A.2", "in_progress"}, {"A.2.1", "in_progress"}, {"A.2.2", "ready"},
      {"B", "in_progress"},   {"B.1", "in_review"},     {"B.1.1", "in_review"}};
  for (const auto& [id, state] : expected) {
    const Artifact* a = index.find(id);
    REQUIRE(a);
    CHECK(kb::lifecycle::state_name(*a) == state);
  }
  const Artifact* a111 = index.find("A.1.1");
  CHECK(a111->blocked_by == std::vector<std::string>{"A.1.2"});
  CHECK(a111->events[1].blocking_dependencies.at(0).resolved);
  CHECK(index.children(*ArtifactId::parse("A.1")).size() == 4);
  CHECK(index.dependents(*ArtifactId::parse("A.1.1")).at(0)->id.str() == "A.1.3");
}

TEST_CASE("a broken file is reported while the rest of the tree loads", "[artifact][loader]") {
  kb::test::TempDir dir;
  auto tree = dir.path() / "A.x";
  std::filesystem::create_directories(tree / ".hidden");
  REQUIRE(kb::util::write_file_atomic(tree / "A.yml", kb::test::valid_yaml("A")).ok());
  REQUIRE(
      kb::util::write_file_atomic(tree / "A.1.yml", "metadata:\n  title: x\n  bad: [1, 2\n").ok());
  REQUIRE(kb::util::write_file_atomic(tree / ".hidden" / "A.2.yml", "garbage: [").ok());
  REQUIRE(kb::util::write_file_atomic(tree / "A.3.yaml", "ignored: true").ok());
  REQUIRE(kb::util::write_file_atomic(tree / "A.dup.yml", kb::test::valid_yaml("A")).ok());
  auto index = load_index(dir.path());
  CHECK(index.size() == 1);
  REQUIRE(index.problems().size() == 2);
  std::set<std::string> codes;
  for (const auto& p : index.problems())
    codes.insert(p.code);
  CHECK(codes == std::set<std::string>{"YAML_SYNTAX_ERROR", "DUPLICATE_ID"});
}

TEST_CASE("completion blocks are read into the model by type", "[artifact][model]") {
  auto index = load_index(kb::test::fixture("kodebase-core/loader-tree"));
  const auto& notes = index.find("A.1.2")->implementation_notes;
  REQUIRE(notes);
  CHECK(notes->result.starts_with("Schema implemented"));
  CHECK(notes->tags.size() == 5);
  REQUIRE(notes->challenges.size() == 1);
  CHECK(notes->challenges[0].solution.starts_with("Added composite indexes"));
  CHECK(notes->insights.size() == 2);
  CHECK_FALSE(index.find("A.1.1")->implementation_notes);

  auto read = [](const char* file, const char* id) {
    auto text =
        kb::util::read_file(kb::test::fixture(std::string("kodebase-core/artifacts/") + file));
    return kb::test::artifact_of(id, *text);
  };
  auto milestone = read("milestone.valid.yaml", "A.1");
  REQUIRE(milestone.delivery_summary);
  CHECK(milestone.delivery_summary->next == "Automate downstream adoption");
  CHECK(milestone.delivery_summary->risks ==
        std::vector<std::string>{"Fixture drift without review"});
  auto initiative = read("initiative.valid.yaml", "A");
  REQUIRE(initiative.impact_summary);
  CHECK(initiative.impact_summary->benefits.size() == 2);
  CHECK(initiative.scope_in == std::vector<std::string>{"Schema alignment", "Developer tooling"});
}
