#include "core/api/methods.hpp"
#include "core/protocol/methods.hpp"
#include "core/util/file.hpp"
#include "tests/unit/support.hpp"

using namespace kb::api;
using nlohmann::json;

namespace {

struct Fixture {
  kb::test::TempDir dir;
  DiskProjectSource projects;
  Context ctx{projects, "oneshot"};

  Fixture() {
    std::filesystem::create_directories(dir.path() / ".kodebase");
    std::filesystem::copy(kb::test::fixture("kodebase-core/loader-tree"),
                          dir.path() / ".kodebase" / "artifacts",
                          std::filesystem::copy_options::recursive);
  }

  kb::protocol::Response call(std::string_view method, json params = json::object()) {
    if (!params.contains("directory"))
      params["directory"] = (dir.path() / ".kodebase" / "artifacts").string();
    return dispatch(ctx, kb::protocol::Request{1, std::string(method), params});
  }
};

} // namespace

TEST_CASE("every protocol method has a handler, and its facts", "[api]") {
  using namespace kb::protocol;
  size_t api_methods = 0;
  for (const auto& m : k_methods) {
    INFO(m.name);
    bool api = (m.flags & (k_daemon | k_notification)) == 0;
    CHECK(static_cast<bool>(find_method(m.name)) == api);
    api_methods += api;
    CHECK_FALSE(((m.flags & k_read) && (m.flags & k_writes))); // one or the other, or neither
    if (m.flags & k_artifacts)
      CHECK((m.flags & k_writes));
  }
  CHECK(method_table().size() == api_methods);
  for (const auto& e : method_table()) {
    INFO(e.name);
    CHECK(method_flags(e.name) != 0);
  }
  CHECK(method_has(method::artifacts_start, k_artifacts));
  CHECK(method_has(method::artifacts_get, k_read));
  CHECK_FALSE(method_has(method::github_request, k_read)); // a POST is never sent twice
  CHECK(method_flags("no.such.method") == 0);
}

TEST_CASE("handlers answer from the project found above the directory", "[api]") {
  Fixture f;
  auto list = f.call("artifacts.list", {{"state", "blocked"}});
  REQUIRE(!list.error);
  auto value = kb::protocol::result_value(list);
  auto& arts = value["artifacts"];
  REQUIRE(arts.size() == 2);
  for (auto key : {"id", "type", "title", "state", "priority", "estimation", "assignee", "parent",
                   "path", "blocked_by", "blocks"})
    CHECK(arts[0].contains(key));
  CHECK(arts[0]["path"] == ".kodebase/artifacts/A.cascade-initiative/A.1.development-phase/"
                           "A.1.3.frontend-integration.yml");

  auto get = f.call("artifacts.get", {{"id", "A.1.3"}});
  REQUIRE(get.result);
  CHECK((*get.result)["ready"] == false);
  CHECK((*get.result)["blocking_reasons"][0]["related"][0] == "A.1.1");
  CHECK((*get.result)["content"]["summary"].is_string());
  CHECK((*get.result)["metadata"]["events"].size() == 2);

  auto log = f.call("artifacts.log", {{"id", "A.1.2"}});
  REQUIRE(log.result);
  CHECK((*log.result)["events"].size() == 5);

  auto status = f.call("project.status");
  REQUIRE(status.result);
  CHECK((*status.result)["artifacts"] == 12);
  CHECK((*status.result)["by_state"]["in_progress"] == 6);
}

TEST_CASE("list's text is exactly what its JSON value serialises to", "[api]") {
  Fixture f;
  for (json filter : {json::object(), json{{"state", "blocked"}}, json{{"state", "archived"}}}) {
    auto list = f.call("artifacts.list", filter);
    REQUIRE(!list.error);
    REQUIRE(!list.result_text.empty());
    CHECK(json::parse(list.result_text).dump() == list.result_text);
    auto line = kb::protocol::serialize(list);
    CHECK(json::parse(line)["result"] == kb::protocol::result_value(list));
  }
  // A list entry is the artifact's summary, from the same function `get` starts from.
  auto all = kb::protocol::result_value(f.call("artifacts.list"));
  REQUIRE(all["artifacts"].size() == all["total"]);
  auto get = f.call("artifacts.get", {{"id", all["artifacts"][0]["id"]}});
  REQUIRE(get.result);
  for (auto& [key, value] : all["artifacts"][0].items())
    CHECK((*get.result)[key] == value);
}

TEST_CASE("handler errors carry kinds: unknown ID, bad ID, no project, unknown method", "[api]") {
  Fixture f;
  auto missing = f.call("artifacts.get", {{"id", "A.9.9"}});
  REQUIRE(missing.error);
  CHECK(missing.error->data["kind"] == "not_found");
  CHECK(missing.error->data["details"]["hint"].is_string());
  auto bad = f.call("artifacts.get", {{"id", "a.1"}});
  REQUIRE(bad.error);
  CHECK(bad.error->code == kb::protocol::k_invalid_params);
  kb::test::TempDir elsewhere;
  auto none = f.call("artifacts.list", {{"directory", elsewhere.path().string()}});
  REQUIRE(none.error);
  CHECK(none.error->data["kind"] == "not_project");
  auto unknown = f.call("artifacts.explode");
  REQUIRE(unknown.error);
  CHECK(unknown.error->code == kb::protocol::k_method_not_found);
  auto relative = f.call("artifacts.list", {{"directory", "relative/path"}});
  REQUIRE(relative.error);
  CHECK(relative.error->code == kb::protocol::k_invalid_params);
}

TEST_CASE("init creates the layout once and leaves an existing project alone", "[api]") {
  kb::test::TempDir dir;
  DiskProjectSource projects;
  Context ctx{projects, "oneshot"};
  auto first = project_init(ctx, {{"directory", dir.path().string()}});
  REQUIRE(first.ok());
  CHECK((*first)["created"] == true);
  CHECK(std::filesystem::is_directory(dir.path() / ".kodebase" / "artifacts"));
  CHECK(std::filesystem::exists(dir.path() / ".kodebase" / "config" / "settings.yml"));
  auto again = project_init(ctx, {{"directory", dir.path().string()}});
  REQUIRE(again.ok());
  CHECK((*again)["created"] == false);
}

TEST_CASE("validate reports findings as the documented JSON", "[api]") {
  Fixture f;
  auto r = f.call("artifacts.validate", {{"strict", true}});
  REQUIRE(r.result);
  CHECK((*r.result)["valid"] == false);
  CHECK((*r.result)["artifacts"] == 12);
  auto& e = (*r.result)["errors"][0];
  for (auto key : {"id", "path", "code", "message", "field", "line", "column", "fix"})
    CHECK(e.contains(key));
  auto lenient = f.call("artifacts.validate", json::object());
  CHECK((*lenient.result)["valid"] == true);
  CHECK_FALSE((*lenient.result)["warnings"].empty());
  auto unknown = f.call("artifacts.validate", {{"ids", {"Z.9"}}});
  REQUIRE(unknown.error);
  CHECK(unknown.error->data["kind"] == "not_found");
}
