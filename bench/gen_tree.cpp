// Writes a deterministic kodebase project with N artifacts: initiatives of 10 milestones of
// 9 issues, with sibling dependencies and a spread of states.
// usage: kb_gen_tree <dir> <artifacts>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

std::string letters(unsigned n) {
  std::string s;
  for (; n > 0; n = (n - 1) / 26)
    s.insert(s.begin(), static_cast<char>('A' + (n - 1) % 26));
  return s;
}

std::string events(unsigned k) {
  static const char* states[] = {"draft", "ready", "in_progress", "in_review", "completed"};
  static const char* triggers[] = {"artifact_created", "dependencies_met", "branch_created",
                                   "pr_ready", "pr_merged"};
  std::string out;
  for (unsigned i = 0; i <= k % 5; ++i)
    out += fmt::format("    - event: {}\n      timestamp: \"2026-01-{:02}T10:00:00Z\"\n"
                       "      actor: \"Ada Lovelace (ada@example.com)\"\n      trigger: {}\n",
                       states[i], i + 1, triggers[i]);
  return out;
}

std::string artifact(const std::string& title, unsigned k, const std::string& blocks,
                     const std::string& blocked_by, const std::string& content) {
  static const char* priorities[] = {"low", "medium", "high", "critical"};
  return fmt::format("metadata:\n  title: \"{}\"\n  priority: {}\n  estimation: M\n"
                     "  created_by: \"Ada Lovelace (ada@example.com)\"\n"
                     "  assignee: \"Grace Hopper (grace@example.com)\"\n"
                     "  schema_version: \"0.0.1\"\n  relationships:\n    blocks: [{}]\n"
                     "    blocked_by: [{}]\n  events:\n{}content:\n{}",
                     title, priorities[k % 4], blocks, blocked_by, events(k), content);
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kb_gen_tree <dir> <artifacts>\n");
    return 2;
  }
  fs::path root = fs::path(argv[1]) / ".kodebase" / "artifacts";
  fs::create_directories(root);
  unsigned total = static_cast<unsigned>(std::atoi(argv[2])), made = 0;
  const std::string issue_content = "  summary: \"Work item\"\n  acceptance_criteria:\n"
                                    "    - \"It works\"\n    - \"It is tested\"\n";
  for (unsigned i = 1; made < total; ++i) {
    auto iid = letters(i);
    auto idir = root / fmt::format("{}.initiative-{}", iid, i);
    write(idir / (iid + ".yml"),
          artifact(fmt::format("Initiative {}", iid), i, "", "",
                   "  vision: \"Grow\"\n  scope:\n    in: [\"a\"]\n    out: [\"b\"]\n"
                   "  success_criteria:\n    - \"Done\"\n"));
    ++made;
    for (unsigned m = 1; m <= 10 && made < total; ++m) {
      auto mid = fmt::format("{}.{}", iid, m);
      auto mdir = idir / fmt::format("{}.milestone-{}", mid, m);
      write(mdir / (mid + ".yml"), artifact(fmt::format("Milestone {}", mid), m, "", "",
                                            "  summary: \"Ship\"\n  deliverables:\n    - \"x\"\n"));
      ++made;
      for (unsigned n = 1; n <= 9 && made < total; ++n, ++made) {
        // Each odd issue blocks the next one; the pair is kept consistent.
        std::string blocks = n % 2 == 1 && n < 9 ? fmt::format("{}.{}", mid, n + 1) : "";
        std::string blocked_by = n % 2 == 0 ? fmt::format("{}.{}", mid, n - 1) : "";
        write(mdir / fmt::format("{}.{}.issue-number-{}.yml", mid, n, n),
              artifact(fmt::format("Issue {}.{} of the benchmark tree", mid, n), n, blocks,
                       blocked_by, issue_content));
      }
    }
  }
  std::printf("%u artifacts in %s\n", made, root.c_str());
  return 0;
}
