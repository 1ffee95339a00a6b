#include "core/artifact/yaml_fast.hpp"
#include "core/util/file.hpp"
#include "tests/unit/support.hpp"

using namespace kb::artifact;

namespace {

// The fast reader either declines or agrees with the full parser exactly.
void check_agrees(const std::string& text, const std::string& what) {
  auto fast = parse_yaml_fast(text);
  if (!fast)
    return;
  auto full = parse_yaml_full(text);
  INFO(what << "\n" << text);
  REQUIRE(full.ok());
  std::string why;
  CHECK(same_tree(*fast, *full, why));
  INFO(why);
}

std::vector<std::filesystem::path> yaml_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && (e.path().extension() == ".yml" || e.path().extension() == ".yaml"))
      out.push_back(e.path());
  return out;
}

} // namespace

TEST_CASE("the fast reader reads every fixture and example exactly as the full parser",
          "[artifact][yaml]") {
  auto files = yaml_files(kb::test::fixture("kodebase-core"));
  auto examples = yaml_files(std::filesystem::path(KODEBASE_FIXTURES) / ".." / ".." / "examples");
  files.insert(files.end(), examples.begin(), examples.end());
  REQUIRE(files.size() > 30);
  for (const auto& f : files) {
    auto text = *kb::util::read_file(f);
    INFO(f);
    CHECK(parse_yaml_fast(text).has_value()); // the common shapes stay on the fast path
    check_agrees(text, f.string());
  }
}

TEST_CASE("the fast reader agrees or declines on tricky inputs", "[artifact][yaml]") {
  const char* cases[] = {
      "a: 1\nb:\nc:\n  - x\n  - k: v\n    j: [p, \"q\"]\nd:\n- y\ne: {}\nf: ~\ng: \"s\"  # c\n",
      "key: value # comment\n# whole line\n\nother: 'it''s'\n",
      "list:\n  - - nested\n    - more\n  -\n  - last\n",
      "a:\n  b:\n    c: deep\n  d: [1, 2, 3]\n",
      "esc: \"a\\\"b\\\\c\\nd\"\n",
      "t: 2025-07-06T14:32:00Z\nn: 12\nf: 1.5\nb: true\nnull_word: null\n",
      "title: Issue: Missing criteria\n", // full parser decides
      "a: |\n  block\n",                  // block scalar: declined
      "a: &x 1\nb: *x\n",                 // anchors: declined
      "a: plain\n  continued\n",          // multi-line plain: declined
      "a: [x,\n  y]\n",                   // multi-line flow: declined
      "- a\n- b: c\n  d: e\n- [f]\n",
      "a: [ ]\nb: []\nc: [\"x, y\", 'z']\n",
      "\"quoted key\": v\n'other': w\n",
      "a:\n\n  b: 1\n\n",
      "a: b\n c: d\n",
      "- a\nb: c\n",
      "a: 'unterminated\n",
      "a: [1, 2,]\n",
      "a: x #not a comment\n",
      "a: x#y\n",
      "é: ü\n",
      "a: - b\n",
  };
  for (const char* c : cases)
    check_agrees(c, "case");
}
