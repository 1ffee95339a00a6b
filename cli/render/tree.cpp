#include "cli/render/tree.hpp"

#include <algorithm>
#include <map>

namespace kb::cli::render {

using nlohmann::json;

namespace {

void draw(const Style& style, const json& node, const std::string& prefix, bool last, bool top,
          std::string& out) {
  std::string line = prefix;
  if (!top)
    line += last ? "└── " : "├── ";
  line += style.bold(node.value("id", "")) + " " + node.value("title", "") + " " + style.dim("(") +
          style.state(node.value("state", "")) + style.dim(")");
  out += line + "\n";
  const auto& children = node.value("children", json::array());
  std::string child_prefix = top ? prefix : prefix + (last ? "    " : "│   ");
  for (size_t i = 0; i < children.size(); ++i)
    draw(style, children[i], child_prefix, i + 1 == children.size(), false, out);
}

std::string parent_of(const std::string& id) {
  auto dot = id.rfind('.');
  return dot == std::string::npos ? std::string() : id.substr(0, dot);
}

} // namespace

std::string tree(const Style& style, const json& roots) {
  std::string out;
  for (const auto& root : roots)
    draw(style, root, "", true, true, out);
  return out;
}

std::string tree_from_list(const Style& style, const json& list) {
  // Rebuild nesting from IDs; the list comes in an order where parents precede children only
  // when sorted by ID, so attach by lookup rather than by position.
  std::map<std::string, json> nodes;
  std::vector<std::string> order;
  for (const auto& a : list) {
    auto id = a.value("id", "");
    nodes[id] = json{{"id", id},
                     {"title", a.value("title", "")},
                     {"state", a.value("state", "")},
                     {"children", json::array()}};
    order.push_back(id);
  }
  std::map<std::string, std::string> attach; // child → nearest listed ancestor
  std::vector<std::string> tops;
  for (const auto& id : order) {
    auto p = parent_of(id);
    while (!p.empty() && !nodes.contains(p))
      p = parent_of(p);
    if (p.empty())
      tops.push_back(id);
    else
      attach[id] = p;
  }
  // Attach deepest first, so each child is complete before it is copied into its parent;
  // siblings go in reverse and are inserted at the front, which keeps the list's order.
  std::vector<std::string> pending(order.rbegin(), order.rend());
  auto depth = [](const std::string& id) { return std::count(id.begin(), id.end(), '.'); };
  std::stable_sort(pending.begin(), pending.end(),
                   [&](const std::string& a, const std::string& b) { return depth(a) > depth(b); });
  for (const auto& id : pending)
    if (auto a = attach.find(id); a != attach.end())
      nodes[a->second]["children"].insert(nodes[a->second]["children"].begin(), nodes[id]);
  json roots = json::array();
  for (const auto& id : tops)
    roots.push_back(nodes[id]);
  return tree(style, roots);
}

} // namespace kb::cli::render
