#include "tests/unit/support.hpp"

namespace kb::test {

std::string valid_yaml(const std::string& id, const std::string& relationships,
                       const std::string& extra_events) {
  auto type = artifact::ArtifactId::parse(id)->type();
  std::string content;
  switch (type) {
  case artifact::ArtifactType::issue:
    content = "content:\n  summary: \"Do the thing\"\n  acceptance_criteria:\n    - \"It works\"\n";
    break;
  case artifact::ArtifactType::milestone:
    content = "content:\n  summary: \"Ship it\"\n  deliverables:\n    - \"A release\"\n";
    break;
  case artifact::ArtifactType::initiative:
    content = "content:\n  vision: \"Better\"\n  scope:\n    in: [\"x\"]\n    out: [\"y\"]\n"
              "  success_criteria:\n    - \"Done\"\n";
    break;
  }
  return "metadata:\n"
         "  title: \"Artifact " +
         id +
         "\"\n"
         "  priority: medium\n"
         "  estimation: S\n"
         "  created_by: \"Ada Lovelace (ada@example.com)\"\n"
         "  assignee: \"Ada Lovelace (ada@example.com)\"\n"
         "  schema_version: \"0.0.1\"\n"
         "  relationships:\n" +
         (relationships.empty() ? "    blocks: []\n    blocked_by: []\n" : relationships) +
         "  events:\n"
         "    - event: draft\n"
         "      timestamp: \"2025-01-01T00:00:00Z\"\n"
         "      actor: \"Ada Lovelace (ada@example.com)\"\n"
         "      trigger: artifact_created\n" +
         extra_events + content;
}

artifact::Artifact artifact_of(const std::string& id, const std::string& text) {
  auto parsed = artifact::ArtifactId::parse(id);
  REQUIRE(parsed);
  auto read = artifact::read_artifact_text(*parsed, "/virtual/" + id + ".yml", text);
  if (auto* problem = std::get_if<artifact::FileProblem>(&read))
    FAIL(problem->code << ": " << problem->message);
  return std::get<artifact::Artifact>(std::move(read));
}

artifact::ArtifactIndex index_of(const std::map<std::string, std::string>& files) {
  artifact::ArtifactIndex index;
  for (const auto& [id, text] : files) {
    auto read = artifact::read_artifact_text(*artifact::ArtifactId::parse(id),
                                             "/virtual/" + id + ".yml", text);
    if (auto* a = std::get_if<artifact::Artifact>(&read))
      index.add(std::move(*a));
    else
      index.add_problem(std::get<artifact::FileProblem>(read));
  }
  return index;
}

} // namespace kb::test
