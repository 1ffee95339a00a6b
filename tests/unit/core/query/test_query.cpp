#include "core/query/context_pack.hpp"
#include "core/query/filter.hpp"
#include "core/query/tree.hpp"
#include "tests/unit/support.hpp"

using namespace kb::query;
using nlohmann::json;

namespace {

const kb::artifact::ArtifactIndex& loader_tree() {
  static auto index = kb::artifact::load_index(kb::test::fixture("kodebase-core/loader-tree"));
  return index;
}

std::vector<std::string> ids_for(const json& params) {
  auto filter = parse_filter(params);
  REQUIRE(filter.ok());
  std::vector<std::string> out;
  for (const auto* a : select(loader_tree(), *filter))
    out.push_back(a->id.str());
  return out;
}

} // namespace

TEST_CASE("filters select by state, type, priority, parent, text and readiness", "[query]") {
  CHECK(ids_for({{"state", "blocked"}}) == std::vector<std::string>{"A.1.3", "A.1.4"});
  CHECK(ids_for({{"type", "initiative"}}) == std::vector<std::string>{"A", "B"});
  CHECK(ids_for({{"type", "issue"}, {"priority", "low,medium"}}) ==
        std::vector<std::string>{"A.1.3", "A.1.4", "A.2.1"});
  CHECK(ids_for({{"parent", "A.2"}}) == std::vector<std::string>{"A.2.1", "A.2.2"});
  CHECK(ids_for({{"text", "DEPLOYMENT"}}) == std::vector<std::string>{"A.2", "A.2.1", "A.2.2"});
  CHECK(ids_for({{"blocked", true}}) == std::vector<std::string>{"A.1.3", "A.1.4"});
  CHECK(ids_for({{"assignee", "miguel"}, {"limit", 2}}).size() == 2);
  CHECK(ids_for({{"state", json::array({"ready", "completed"})}}) ==
        std::vector<std::string>{"A.1.2", "A.2.2"});
}

TEST_CASE("sorting keeps natural ID order as the tie-breaker", "[query]") {
  auto by_priority = ids_for({{"type", "issue"}, {"sort", "priority"}});
  CHECK(by_priority.front() == "A.1.1");
  CHECK(by_priority.back() == "A.1.4");
  auto reversed = ids_for({{"type", "initiative"}, {"reverse", true}});
  CHECK(reversed == std::vector<std::string>{"B", "A"});
  auto updated = ids_for({{"type", "issue"}, {"sort", "updated"}});
  CHECK(updated.front() == "B.1.1");
}

TEST_CASE("bad filter values are usage errors that list the allowed ones", "[query]") {
  for (auto params : {json{{"state", "done"}}, json{{"type", "epic"}}, json{{"sort", "size"}},
                      json{{"parent", "a.1"}}, json{{"priority", "p1"}}}) {
    auto f = parse_filter(params);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().kind == kb::util::ErrorKind::invalid_argument);
  }
}

TEST_CASE("the tree nests children under parents", "[query][tree]") {
  auto roots = build_tree(loader_tree(), std::nullopt);
  REQUIRE(roots.size() == 2);
  CHECK(roots[0]["id"] == "A");
  CHECK(roots[0]["children"].size() == 2);
  CHECK(roots[0]["children"][0]["children"].size() == 4);
  auto sub = build_tree(loader_tree(), *kb::artifact::ArtifactId::parse("A.2"));
  REQUIRE(sub.size() == 1);
  CHECK(sub[0]["children"][1]["id"] == "A.2.2");
}

TEST_CASE("context packs in three formats", "[query][context]") {
  const auto& a = *loader_tree().find("A.1.3");
  auto standard = context_pack(loader_tree(), a, ContextFormat::standard);
  CHECK(standard.starts_with("# Artifact A.1.3: Frontend Integration\n"));
  CHECK(standard.find("## Parent Context") != std::string::npos);
  CHECK(standard.find("**Initiative A:** Cascade Initiative") != std::string::npos);
  CHECK(standard.find("## Acceptance Criteria\n\n- Connect React components") != std::string::npos);
  CHECK(standard.find("**Dependencies (blocked by):**\n- A.1.1: Backend API Implementation") !=
        std::string::npos);
  auto compact = context_pack(loader_tree(), a, ContextFormat::compact);
  CHECK(compact.starts_with("# A.1.3: Frontend Integration\n"));
  CHECK(compact.find("Parent") == std::string::npos);
  auto detailed = context_pack(loader_tree(), a, ContextFormat::detailed);
  CHECK(detailed.find("## Parent Hierarchy") != std::string::npos);
  CHECK(detailed.find("### Recent Events") != std::string::npos);
  CHECK(detailed.find("waiting on A.1.1") != std::string::npos);
  CHECK_FALSE(context_format_from_string("huge").ok());
}
