#include "core/validate/rules.hpp"

#include <fmt/format.h>
#include <set>

namespace kb::validate {

using artifact::Artifact;
using artifact::ArtifactId;
using artifact::ArtifactType;
using artifact::YamlNode;

namespace {

const YamlNode* relationships_node(const Artifact& a) {
  const YamlNode* meta = a.document.find("metadata");
  return meta ? meta->find("relationships") : nullptr;
}

// Mark of entry `target` in relationships.<key>, or of the list itself.
artifact::Mark entry_mark(const Artifact& a, std::string_view key, std::string_view target) {
  const YamlNode* rel = relationships_node(a);
  const YamlNode* list = rel ? rel->find(key) : nullptr;
  if (!list)
    return rel ? rel->mark : artifact::Mark{};
  for (const auto& item : list->items)
    if (item.is_scalar() && item.scalar == target)
      return item.mark;
  return list->mark;
}

void add(std::vector<Finding>& out, const Artifact& a, std::string code, std::string field,
         artifact::Mark mark, std::string message, std::string fix) {
  out.push_back(Finding{a.id.str(), a.path, Severity::error, std::move(code), std::move(message),
                        std::move(field), mark, std::move(fix)});
}

void check_sibling_rules(Sink& sink, std::string_view key, const YamlNode& list) {
  const auto& a = sink.artifact();
  for (size_t i = 0; i < list.items.size(); ++i) {
    const YamlNode& item = list.items[i];
    auto field = fmt::format("metadata.relationships.{}[{}]", key, i);
    auto target = item.is_scalar() ? ArtifactId::parse(item.scalar) : std::nullopt;
    if (!target) {
      sink.error("RELATIONSHIP_INVALID_ID", field, item.mark,
                 fmt::format("'{}' is not an artifact ID",
                             item.is_scalar() ? item.scalar : std::string(item.describe())),
                 "use IDs like A, A.1 or A.1.3");
      continue;
    }
    if (target->type() != a.type()) {
      // blocked_by across levels is reported by the graph check as CROSS_LEVEL_DEPENDENCY.
      if (key == "blocks")
        sink.error("RELATIONSHIP_WRONG_TYPE", field, item.mark,
                   fmt::format("{} {} cannot block {} {}; dependencies link artifacts of the "
                               "same type",
                               artifact::to_string(a.type()), a.id.str(),
                               artifact::to_string(target->type()), target->str()),
                   fmt::format("remove {} or link a {} instead", target->str(),
                               artifact::to_string(a.type())));
      continue;
    }
    if (a.type() != ArtifactType::initiative &&
        target->initiative_ordinal() != a.id.initiative_ordinal()) {
      sink.error("RELATIONSHIP_DIFFERENT_INITIATIVE", field, item.mark,
                 fmt::format("{} is in another initiative than {}", target->str(), a.id.str()),
                 "dependencies stay within one initiative; link the initiatives instead");
      continue;
    }
    if (a.type() == ArtifactType::issue && target->parent() != a.id.parent())
      sink.error("RELATIONSHIP_DIFFERENT_MILESTONE", field, item.mark,
                 fmt::format("issue {} is in another milestone than {}", target->str(), a.id.str()),
                 "issue dependencies stay within one milestone; link the milestones instead");
  }
}

// Depth-first search over blocked_by edges; reports each cycle once.
class CycleFinder {
public:
  CycleFinder(const artifact::ArtifactIndex& index, std::vector<Finding>& out)
      : m_index(index), m_out(out) {}

  void run() {
    for (const auto& [id, a] : m_index.all())
      if (!m_done.contains(id.str()))
        visit(a);
  }

private:
  void visit(const Artifact& a) {
    m_on_path.insert(a.id.str());
    m_path.push_back(&a);
    for (const auto& dep : a.blocked_by) {
      const Artifact* d = m_index.find(dep);
      if (!d || m_done.contains(dep))
        continue;
      if (m_on_path.contains(dep))
        report(*d);
      else
        visit(*d);
    }
    m_path.pop_back();
    m_on_path.erase(a.id.str());
    m_done.insert(a.id.str());
  }

  void report(const Artifact& start) {
    std::vector<std::string> cycle;
    auto it = std::find(m_path.begin(), m_path.end(), &start);
    for (; it != m_path.end(); ++it)
      cycle.push_back((*it)->id.str());
    cycle.push_back(start.id.str());
    auto key = canonical(cycle);
    if (!m_reported.insert(key).second)
      return;
    auto text = fmt::format("{}", fmt::join(cycle, " -> "));
    const Artifact& last = *m_path.back();
    add(m_out, last, "CIRCULAR_DEPENDENCY", "metadata.relationships.blocked_by",
        entry_mark(last, "blocked_by", start.id.str()),
        fmt::format("circular dependency detected: {}", text),
        fmt::format("remove one blocked_by link of the cycle, e.g. {} from {}", start.id.str(),
                    last.id.str()));
  }

  // The cycle's members sorted: the same cycle found from another start has the same key.
  static std::string canonical(std::vector<std::string> cycle) {
    cycle.pop_back();
    std::sort(cycle.begin(), cycle.end());
    return fmt::format("{}", fmt::join(cycle, ","));
  }

  const artifact::ArtifactIndex& m_index;
  std::vector<Finding>& m_out;
  std::set<std::string> m_on_path, m_done, m_reported;
  std::vector<const Artifact*> m_path;
};

} // namespace

void check_location(Sink& sink) {
  const auto& a = sink.artifact();
  auto folder = artifact::foreign_folder(a.path, a.id);
  if (!folder)
    return;
  auto parent = a.id.parent();
  sink.error(
      "PATH_ID_MISMATCH", "", {},
      fmt::format("{} lies in the folder of {}, but its ID makes it {}", a.id.str(), folder->str(),
                  parent ? fmt::format("a child of {}", parent->str())
                         : std::string("an initiative of its own")),
      parent
          ? fmt::format("its ID decides its parent: `git mv` the file into {}'s "
                        "folder (or, if it belongs to {}, re-add it there with "
                        "`kodebase add {}` and remove this one)",
                        parent->str(), folder->str(), folder->str())
          : fmt::format("move its folder out of {}'s, into .kodebase/artifacts/", folder->str()));
}

void check_relationships(Sink& sink) {
  const YamlNode* rel = relationships_node(sink.artifact());
  if (!rel || !rel->is_mapping())
    return;
  for (std::string_view key : {"blocks", "blocked_by"}) {
    const YamlNode* list = rel->find(key);
    if (!list || list->is_null())
      continue;
    if (!list->is_sequence()) {
      sink.error("RELATIONSHIP_NOT_ARRAY", fmt::format("metadata.relationships.{}", key),
                 list->mark, fmt::format("relationships.{} must be a list of IDs", key),
                 fmt::format("write `{}: [A.1.2]` (or `[]`)", key));
      continue;
    }
    check_sibling_rules(sink, key, *list);
  }
}

void check_graph(const artifact::ArtifactIndex& index, std::vector<Finding>& out) {
  std::set<std::pair<std::string, std::string>> pairs_reported;
  for (const auto& [id, a] : index.all()) {
    for (std::string_view key : {"blocked_by", "blocks"}) {
      const auto& targets = key == "blocks" ? a.blocks : a.blocked_by;
      for (const auto& t : targets) {
        auto field = fmt::format("metadata.relationships.{}", key);
        auto tid = ArtifactId::parse(t);
        if (!tid)
          continue; // RELATIONSHIP_INVALID_ID, reported per artifact
        if (key == "blocked_by" && tid->type() != a.type())
          add(out, a, "CROSS_LEVEL_DEPENDENCY", field, entry_mark(a, key, t),
              fmt::format("{} {} is blocked by {} {}; dependencies link artifacts of the same "
                          "type",
                          artifact::to_string(a.type()), a.id.str(),
                          artifact::to_string(tid->type()), t),
              fmt::format("remove {} from blocked_by; parents already gate their children", t));
        const Artifact* target = index.find(*tid);
        if (!target) {
          add(out, a, "RELATIONSHIP_UNKNOWN_ARTIFACT", field, entry_mark(a, key, t),
              fmt::format("{} names {}, which does not exist", field, t),
              fmt::format("remove {} or create it", t));
          continue;
        }
        const auto& back = key == "blocks" ? target->blocked_by : target->blocks;
        if (std::find(back.begin(), back.end(), a.id.str()) != back.end())
          continue;
        auto pair = key == "blocks" ? std::pair(a.id.str(), t) : std::pair(t, a.id.str());
        if (!pairs_reported.insert(pair).second)
          continue;
        auto other = key == "blocks" ? "blocked_by" : "blocks";
        add(out, a, "RELATIONSHIP_INCONSISTENT_PAIR", field, entry_mark(a, key, t),
            fmt::format("{} lists {} in {}, but {} does not list {} in {}", a.id.str(), t, key, t,
                        a.id.str(), other),
            fmt::format("add {} to {}'s {} (or remove {} here)", a.id.str(), t, other, t));
      }
    }
  }
  CycleFinder(index, out).run();
}

} // namespace kb::validate
