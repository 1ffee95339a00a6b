#include "cli/mcp/server.hpp"

#include <catch2/catch.hpp>

using kb::cli::mcp::json;
using kb::cli::mcp::make_cursor;
using kb::cli::mcp::read_cursor;
using kb::cli::mcp::schema_problem;

namespace {

const json k_schema = json::parse(R"({
  "type": "object", "additionalProperties": false, "required": ["id"],
  "properties": {
    "id": {"type": "string", "pattern": "^[A-Z]+(\\.[0-9]+){0,2}$", "maxLength": 8},
    "limit": {"type": "integer", "minimum": 1, "maximum": 10},
    "state": {"type": "array", "uniqueItems": true, "maxItems": 2,
              "items": {"type": "string", "enum": ["ready", "draft"]}},
    "flag": {"type": "boolean"}
  }})");

} // namespace

TEST_CASE("tool arguments that conform pass", "[mcp]") {
  CHECK_FALSE(schema_problem(k_schema, json::parse(R"({"id": "A.1.3"})")));
  CHECK_FALSE(schema_problem(k_schema, json::parse(R"({"id": "AB", "limit": 10, "flag": true,
                                                       "state": ["ready", "draft"]})")));
  CHECK_FALSE(schema_problem(k_schema, json::parse(R"({"id": "A", "limit": 3.0})")));
}

TEST_CASE("each broken rule is named with its path", "[mcp]") {
  auto problem = [](const char* args) {
    return schema_problem(k_schema, json::parse(args)).value_or("");
  };
  CHECK(problem(R"({})") == "arguments.id is required");
  CHECK(problem(R"({"id": "a.1"})").find("does not have the form") != std::string::npos);
  CHECK(problem(R"({"id": "ABCDEFGHIJ"})") == "arguments.id must have at most 8 characters");
  CHECK(problem(R"({"id": "A", "limit": 0})") == "arguments.limit must be at least 1");
  CHECK(problem(R"({"id": "A", "limit": 1.5})") == "arguments.limit must be integer, not 1.5");
  CHECK(problem(R"({"id": "A", "state": ["done"]})") ==
        "arguments.state[0] is \"done\"; it must be one of: ready, draft");
  CHECK(problem(R"({"id": "A", "state": ["ready", "ready"]})") ==
        "arguments.state lists \"ready\" twice");
  CHECK(problem(R"({"id": "A", "state": ["ready", "draft", "ready"]})") ==
        "arguments.state must have at most 2 items");
  CHECK(problem(R"({"id": "A", "colour": "red"})") ==
        "arguments has no field 'colour' (known: flag, id, limit, state)");
  CHECK(problem(R"([])") == "arguments must be object, not []");
}

TEST_CASE("page cursors are opaque and refused by another list or filter", "[mcp]") {
  auto cursor = make_cursor("list", 40, R"({"state":["ready"]})");
  CHECK(read_cursor("list", cursor, R"({"state":["ready"]})") == 40u);
  CHECK_FALSE(read_cursor("list", cursor, R"({"state":["draft"]})"));
  CHECK_FALSE(read_cursor("tools", cursor, R"({"state":["ready"]})"));
  CHECK(read_cursor("tools", make_cursor("tools", 0)) == 0u);
  for (const char* bad : {"", "!!", "bogus", "dG9vbHM6", "dG9vbHM6eDox"})
    CHECK_FALSE(read_cursor("tools", bad));
}
