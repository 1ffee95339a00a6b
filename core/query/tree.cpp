#include "core/query/tree.hpp"

#include "core/lifecycle/readiness.hpp"

#include <map>

namespace kb::query {

using artifact::Artifact;
using nlohmann::json;

namespace {

json node_of(const Artifact& a) {
  return json{{"id", a.id.str()},
              {"type", artifact::to_string(a.type())},
              {"title", a.title},
              {"state", lifecycle::state_name(a)},
              {"priority", a.effective_priority()},
              {"assignee", a.assignee},
              {"children", json::array()}};
}

using Children = std::map<std::string, std::vector<const Artifact*>>;

json build_node(const Artifact& a, const Children& children, int depth) {
  json node = node_of(a);
  auto it = children.find(a.id.str());
  if (it != children.end() && depth < 8)
    for (const Artifact* c : it->second)
      node["children"].push_back(build_node(*c, children, depth + 1));
  return node;
}

// Attaches each artifact to its nearest present ancestor, or to the top level.
json nest(const std::vector<const Artifact*>& members) {
  std::map<std::string, bool> present;
  for (const Artifact* a : members)
    present[a->id.str()] = true;
  Children children;
  std::vector<const Artifact*> tops;
  for (const Artifact* a : members) {
    std::optional<artifact::ArtifactId> parent = a->id.parent();
    while (parent && !present.contains(parent->str()))
      parent = parent->parent();
    if (parent)
      children[parent->str()].push_back(a);
    else
      tops.push_back(a);
  }
  json roots = json::array();
  for (const Artifact* a : tops)
    roots.push_back(build_node(*a, children, 0));
  return roots;
}

} // namespace

json build_tree(const artifact::ArtifactIndex& index,
                const std::optional<artifact::ArtifactId>& root) {
  std::vector<const Artifact*> members;
  if (root) {
    if (const Artifact* r = index.find(*root))
      members.push_back(r);
    for (const Artifact* d : index.descendants(*root))
      members.push_back(d);
  } else {
    for (const auto& [_, a] : index.all())
      members.push_back(&a);
  }
  return nest(members);
}

} // namespace kb::query
