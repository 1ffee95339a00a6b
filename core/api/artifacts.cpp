#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/query/context_pack.hpp"
#include "core/query/filter.hpp"
#include "core/query/tree.hpp"

namespace kb::api {

using artifact::Artifact;

json next_json(const LoadedProject& p, size_t limit) {
  json out = json::array();
  for (const auto& item : lifecycle::next_work(p.index)) {
    if (limit && out.size() == limit)
      break;
    json entry = summary_json(p, *item.artifact);
    entry["startable"] = item.startable;
    entry["hint"] = item.hint;
    out.push_back(std::move(entry));
  }
  return out;
}

util::Result<std::string> artifacts_list(Context& ctx, const json& params) {
  auto filter = query::parse_filter(params);
  if (!filter)
    return filter.error();
  auto p = open_project(ctx, params);
  if (!p)
    return p.error();
  // {"artifacts":[…],"problems":[…],"total":N}, keys in the order a JSON object dumps them; the
  // entries are each artifact's cached text, so a warm list copies bytes instead of building
  // and serialising ten thousand objects.
  auto selected = query::select((*p)->index, *filter);
  std::string out = R"({"artifacts":[)";
  size_t size = 64;
  for (const Artifact* a : selected)
    size += summary_text(**p, *a).size() + 1;
  out.reserve(size);
  for (const Artifact* a : selected) {
    out += summary_text(**p, *a);
    out += ',';
  }
  if (!selected.empty())
    out.pop_back();
  out += R"(],"problems":)";
  out += problems_json(**p).dump();
  out += R"(,"total":)";
  out += std::to_string((*p)->index.size());
  out += '}';
  return out;
}

util::Result<json> artifacts_get(Context& ctx, const json& params) {
  auto p = open_project(ctx, params);
  if (!p)
    return p.error();
  auto a = artifact_param(**p, params);
  if (!a)
    return a.error();
  return full_json(**p, **a);
}

util::Result<json> artifacts_tree(Context& ctx, const json& params) {
  std::optional<artifact::ArtifactId> root;
  if (auto it = params.find("id"); it != params.end() && !it->is_null()) {
    auto id = artifact::ArtifactId::parse_or_error(it->is_string() ? it->get<std::string>() : "");
    if (!id)
      return id.error();
    root = *id;
  }
  auto p = open_project(ctx, params);
  if (!p)
    return p.error();
  if (root && !(*p)->index.find(*root)) {
    auto a = artifact_param(**p, params); // gives the not-found error with its hint
    return a.error();
  }
  return json{{"roots", query::build_tree((*p)->index, root)}, {"problems", problems_json(**p)}};
}

util::Result<json> artifacts_log(Context& ctx, const json& params) {
  auto p = open_project(ctx, params);
  if (!p)
    return p.error();
  auto a = artifact_param(**p, params);
  if (!a)
    return a.error();
  json events = json::array();
  for (const auto& e : (*a)->events)
    events.push_back(event_json(e));
  return json{{"id", (*a)->id.str()},
              {"title", (*a)->title},
              {"state", lifecycle::state_name(**a)},
              {"events", std::move(events)}};
}

util::Result<json> artifacts_next(Context& ctx, const json& params) {
  auto limit = params.value("limit", 0);
  if (limit < 0)
    return util::make_error(util::ErrorKind::invalid_argument, "'limit' must not be negative");
  auto p = open_project(ctx, params);
  if (!p)
    return p.error();
  return json{{"items", next_json(**p, static_cast<size_t>(limit))}};
}

util::Result<json> artifacts_context(Context& ctx, const json& params) {
  auto format = query::context_format_from_string(params.value("format", "standard"));
  if (!format)
    return format.error();
  auto p = open_project(ctx, params);
  if (!p)
    return p.error();
  auto a = artifact_param(**p, params);
  if (!a)
    return a.error();
  return json{{"id", (*a)->id.str()},
              {"format", params.value("format", "standard")},
              {"markdown", query::context_pack((*p)->index, **a, *format)}};
}

} // namespace kb::api
