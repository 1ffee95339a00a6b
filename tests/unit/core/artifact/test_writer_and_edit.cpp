#include "core/artifact/edit.hpp"
#include "core/artifact/writer.hpp"
#include "core/util/file.hpp"
#include "tests/unit/support.hpp"

using namespace kb::artifact;

namespace {

std::vector<std::filesystem::path> fixture_files() {
  std::vector<std::filesystem::path> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(kb::test::fixture("kodebase-core")))
    if (e.path().extension() == ".yml" || e.path().extension() == ".yaml")
      out.push_back(e.path());
  return out;
}

// Lines of `after` that are not in `before`, assuming only insertions and replacements.
std::pair<std::vector<std::string>, std::vector<std::string>> diff_lines(const std::string& before,
                                                                         const std::string& after) {
  auto split = [](const std::string& s) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < s.size()) {
      auto nl = s.find('\n', pos);
      lines.push_back(s.substr(pos, nl - pos));
      pos = nl == std::string::npos ? s.size() : nl + 1;
    }
    return lines;
  };
  auto a = split(before), b = split(after);
  size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head])
    ++head;
  size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail])
    ++tail;
  return {std::vector<std::string>(a.begin() + head, a.end() - tail),
          std::vector<std::string>(b.begin() + head, b.end() - tail)};
}

YamlNode event(const char* state, const char* trigger) {
  YamlNode e;
  e.kind = YamlNode::Kind::mapping;
  e.entries.push_back({"event", {}, scalar_node(state, true)});
  e.entries.push_back({"timestamp", {}, scalar_node("2025-11-01T10:00:00Z")});
  e.entries.push_back({"actor", {}, scalar_node("Ada Lovelace (ada@example.com)")});
  e.entries.push_back({"trigger", {}, scalar_node(trigger, true)});
  return e;
}

} // namespace

TEST_CASE("canonical text reads back as the same data for every fixture", "[artifact][writer]") {
  for (const auto& path : fixture_files()) {
    auto doc = parse_yaml(*kb::util::read_file(path));
    REQUIRE(doc.ok());
    auto text = write_canonical(*doc);
    auto again = parse_yaml(text);
    INFO(path << "\n" << text);
    REQUIRE(again.ok());
    CHECK(again->to_json() == doc->to_json());
    CHECK(write_canonical(*again) == text); // stable
    CHECK(text.back() == '\n');
  }
}

TEST_CASE("canonical layout: key order, flow relationships, quoted text", "[artifact][writer]") {
  auto doc = parse_yaml("content:\n  summary: x\nmetadata:\n  events: []\n  title: 'T: x'\n"
                        "  relationships:\n    blocked_by:\n      - A.1.2\n    blocks: []\n"
                        "extra: 1\n");
  REQUIRE(doc.ok());
  CHECK(write_canonical(*doc) == "metadata:\n  title: \"T: x\"\n  relationships:\n"
                                 "    blocks: []\n    blocked_by: [A.1.2]\n  events: []\n"
                                 "content:\n  summary: x\nextra: 1\n");
  CHECK(yaml_scalar("true", false) == "\"true\"");
  CHECK(yaml_scalar("A.1.2", false) == "A.1.2");
  CHECK(yaml_scalar("a \"b\"\n", true) == "\"a \\\"b\\\"\\n\"");
}

TEST_CASE("appending an event adds only the event lines", "[artifact][edit]") {
  for (const auto& path : fixture_files()) {
    auto before = *kb::util::read_file(path);
    auto doc = DocumentText::parse(before);
    REQUIRE(doc.ok());
    REQUIRE(doc->append_event(event("cancelled", "manual_cancel")).ok());
    auto [removed, added] = diff_lines(before, doc->text());
    INFO(path << "\n" << doc->text());
    CHECK(removed.empty());
    REQUIRE(added.size() == 4);
    CHECK(added[0].ends_with("- event: cancelled"));
    CHECK(added[1].ends_with("timestamp: \"2025-11-01T10:00:00Z\""));
    auto events = doc->root().find("metadata")->find("events");
    CHECK(events->items.back().find("trigger")->scalar == "manual_cancel");
  }
}

TEST_CASE("editing a field changes one line and keeps its quoting", "[artifact][edit]") {
  std::string before = "metadata:\n  title: \"Old\" # keep me\n  priority: low\n"
                       "  relationships:\n    blocks: []\n    blocked_by: [A.1.1]\n"
                       "  events:\n  - event: draft\n";
  auto doc = DocumentText::parse(before);
  REQUIRE(doc.ok());
  REQUIRE(doc->set_scalar({"metadata", "title"}, "New \"one\"", false).ok());
  REQUIRE(doc->set_scalar({"metadata", "priority"}, "high", true).ok());
  REQUIRE(doc->add_to_list({"metadata", "relationships", "blocked_by"}, "A.1.3").ok());
  REQUIRE(doc->add_to_list({"metadata", "relationships", "blocks"}, "A.1.4").ok());
  REQUIRE(doc->set_scalar({"metadata", "estimation"}, "M", true).ok());
  CHECK(doc->text() == "metadata:\n  title: \"New \\\"one\\\"\" # keep me\n  priority: high\n"
                       "  relationships:\n    blocks: [A.1.4]\n    blocked_by: [A.1.1, A.1.3]\n"
                       "  events:\n  - event: draft\n  estimation: M\n");
  // A sequence written at its key's indent still takes new events at that indent.
  REQUIRE(doc->append_event(event("ready", "dependencies_met")).ok());
  CHECK(doc->text().find("  - event: draft\n  - event: ready\n    timestamp:") !=
        std::string::npos);
}

TEST_CASE("resolving a blocking dependency touches only that entry", "[artifact][edit]") {
  auto path = kb::test::fixture("kodebase-core/loader-tree/A.cascade-initiative/"
                                "A.1.development-phase/A.1.3.frontend-integration.yml");
  auto before = *kb::util::read_file(path);
  auto doc = DocumentText::parse(before);
  REQUIRE(doc.ok());
  REQUIRE(doc->resolve_blocking_dependency(1, "A.1.1", "2025-11-02T08:00:00Z").ok());
  auto [removed, added] = diff_lines(before, doc->text());
  CHECK(removed == std::vector<std::string>{"            resolved: false"});
  CHECK(added == std::vector<std::string>{"            resolved: true",
                                          "            resolved_at: \"2025-11-02T08:00:00Z\""});
  CHECK_FALSE(doc->resolve_blocking_dependency(1, "A.1.9", "2025-11-02T08:00:00Z").ok());
}

TEST_CASE("empty or missing event lists become block lists", "[artifact][edit]") {
  auto doc = DocumentText::parse("metadata:\n  title: x\n  events: []\ncontent:\n  summary: y\n");
  REQUIRE(doc.ok());
  REQUIRE(doc->append_event(event("draft", "artifact_created")).ok());
  CHECK(doc->text().starts_with("metadata:\n  title: x\n  events:\n    - event: draft\n"));
  CHECK(doc->text().ends_with("content:\n  summary: y\n"));
}

TEST_CASE("removing list items keeps the list's style", "[artifact][edit]") {
  auto doc = DocumentText::parse("metadata:\n  relationships:\n    blocks: [A.1.2, A.1.3]\n"
                                 "    blocked_by:\n      - A.1.4\n      - A.1.5\n");
  REQUIRE(doc.ok());
  REQUIRE(doc->remove_from_list({"metadata", "relationships", "blocks"}, "A.1.2").ok());
  REQUIRE(doc->remove_from_list({"metadata", "relationships", "blocked_by"}, "A.1.5").ok());
  REQUIRE(doc->remove_from_list({"metadata", "relationships", "blocks"}, "A.9.9").ok());
  CHECK(doc->text() == "metadata:\n  relationships:\n    blocks: [A.1.3]\n"
                       "    blocked_by:\n      - A.1.4\n");
  REQUIRE(doc->remove_from_list({"metadata", "relationships", "blocks"}, "A.1.3").ok());
  CHECK(doc->text().find("    blocks: []\n") != std::string::npos);
}

TEST_CASE("reordering keys moves whole entries with their comments", "[artifact][edit]") {
  std::string text = "# header stays on top\n"
                     "content:\n"
                     "  summary: >\n"
                     "    folded text\n"
                     "\n"
                     "x-custom: keep   # unknown key\n"
                     "# about the metadata\n"
                     "metadata:\n"
                     "  events: []\n"
                     "  title: 'Quoted'\n"
                     "  priority: high\n"
                     "notes: [\"n\"]";
  auto doc = DocumentText::parse(text);
  REQUIRE(doc.ok());
  auto moved = doc->reorder_keys({}, k_top_order);
  REQUIRE(moved.ok());
  CHECK(*moved);
  CHECK(doc->text() == "# header stays on top\n"
                       "# about the metadata\n"
                       "metadata:\n"
                       "  events: []\n"
                       "  title: 'Quoted'\n"
                       "  priority: high\n"
                       "content:\n"
                       "  summary: >\n"
                       "    folded text\n"
                       "\n"
                       "notes: [\"n\"]\n"
                       "x-custom: keep   # unknown key");
  auto meta = doc->reorder_keys({"metadata"}, k_metadata_order);
  REQUIRE(meta.ok());
  CHECK(*meta);
  CHECK(
      doc->text().find("metadata:\n  title: 'Quoted'\n  priority: high\n  events: []\ncontent:") !=
      std::string::npos);
  // Already canonical: nothing moves.
  auto again = doc->reorder_keys({}, k_top_order);
  REQUIRE(again.ok());
  CHECK_FALSE(*again);
}
