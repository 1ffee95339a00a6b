// Handlers that edit fields and dependencies: edit, link and unlink.
#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/edit.hpp"
#include "core/lifecycle/transition.hpp"
#include "core/util/file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

namespace kb::api {

using artifact::Artifact;
using artifact::ArtifactId;

namespace {

// The blocked_by path from `from` to `to`, if `to` is reachable (so linking `to` blocked by
// `from` would close a cycle).
std::vector<std::string> dependency_path(const artifact::ArtifactIndex& index,
                                         const std::string& from, const std::string& to) {
  std::vector<std::string> path{from};
  std::set<std::string> seen;
  std::function<bool(const std::string&)> walk = [&](const std::string& at) {
    if (at == to)
      return true;
    if (!seen.insert(at).second)
      return false;
    const Artifact* a = index.find(at);
    if (!a)
      return false;
    for (const auto& next : a->blocked_by) {
      path.push_back(next);
      if (walk(next))
        return true;
      path.pop_back();
    }
    return false;
  };
  return walk(from) ? path : std::vector<std::string>{};
}

std::string_view article(artifact::ArtifactType t) {
  return t == artifact::ArtifactType::initiative || t == artifact::ArtifactType::issue ? "an" : "a";
}

// Sibling rules for a new `id blocked_by target` link.
util::Status check_link(const artifact::ArtifactIndex& index, const Artifact& a,
                        const ArtifactId& target) {
  auto bad = [](std::string m, std::string hint) {
    return util::make_error(util::ErrorKind::failed, std::move(m), {{"hint", std::move(hint)}});
  };
  if (target == a.id)
    return bad(fmt::format("{} cannot depend on itself", a.id.str()),
               "link two different artifacts");
  if (target.type() != a.type())
    return bad(fmt::format("{} is {} {} and {} {} {}; dependencies link artifacts of one type",
                           a.id.str(), article(a.type()), artifact::to_string(a.type()),
                           target.str(), article(target.type()),
                           artifact::to_string(target.type())),
               "parents already gate their children; link siblings instead");
  if (target.parent() != a.id.parent())
    return bad(fmt::format("{} and {} are not siblings", a.id.str(), target.str()),
               a.type() == artifact::ArtifactType::issue
                   ? "issue dependencies stay within one milestone; link the milestones"
                   : "dependencies stay within one initiative; link the initiatives");
  if (!index.find(target))
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("artifact {} not found", target.str()),
                            {{"hint", "run `kodebase list` to see the artifact IDs"}});
  if (auto cycle = dependency_path(index, target.str(), a.id.str()); !cycle.empty()) {
    cycle.insert(cycle.begin(), a.id.str());
    return bad(fmt::format("linking would create a cycle: {}", fmt::join(cycle, " -> ")),
               "remove one of the existing links first (kodebase unlink)");
  }
  return util::ok_status();
}

util::Result<json> relink(Context& ctx, const json& params, bool link) {
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  auto a = artifact_in(session->index(), session->project, params);
  KB_TRY(a);
  auto targets = list_param(params, "blocked_by");
  KB_TRY(targets);
  if (targets->empty())
    return util::make_error(util::ErrorKind::invalid_argument, "name at least one --blocked-by ID");
  artifact::EditSet edits;
  json changed = json::array();
  for (const auto& t : *targets) {
    auto target = ArtifactId::parse_or_error(t);
    KB_TRY(target);
    if (link) {
      KB_TRY(check_link(session->index(), **a, *target));
    }
    const Artifact* other = session->index().find(*target);
    auto mine = edits.doc((*a)->path);
    KB_TRY(mine);
    auto edit =
        link ? &artifact::DocumentText::add_to_list : &artifact::DocumentText::remove_from_list;
    KB_TRY(((*mine)->*edit)({"metadata", "relationships", "blocked_by"}, target->str()));
    if (other) {
      auto theirs = edits.doc(other->path);
      KB_TRY(theirs);
      if (auto st = ((*theirs)->*edit)({"metadata", "relationships", "blocks"}, (*a)->id.str());
          !st)
        return st.error();
    }
    changed.push_back(target->str());
  }
  auto actor = resolve_actor(session->project, params);
  KB_TRY(actor);
  auto ids = changed.get<std::vector<std::string>>();
  auto planned = lifecycle::dependency_events(
      edits, session->index(), **a, link ? ids : std::vector<std::string>{},
      link ? std::vector<std::string>{} : ids, *actor, util::format_utc(util::now_seconds()));
  KB_TRY(planned);
  return commit_edits(*session, edits, params,
                      {{"id", (*a)->id.str()},
                       {link ? "linked" : "unlinked", changed},
                       {"events", planned_events_json(*planned)}});
}

} // namespace

util::Result<json> artifacts_link(Context& ctx, const json& params) {
  return relink(ctx, params, true);
}
util::Result<json> artifacts_unlink(Context& ctx, const json& params) {
  return relink(ctx, params, false);
}

util::Result<json> artifacts_edit(Context& ctx, const json& params) {
  // Field → where it lives and whether it is written as a plain word.
  struct Field {
    const char* name;
    std::vector<std::string> path;
    bool plain;
  };
  static const Field fields[] = {{"title", {"metadata", "title"}, false},
                                 {"priority", {"metadata", "priority"}, true},
                                 {"estimation", {"metadata", "estimation"}, true},
                                 {"assignee", {"metadata", "assignee"}, false},
                                 {"summary", {"content", "summary"}, false},
                                 {"vision", {"content", "vision"}, false}};
  if (auto st = check_known_fields(
          params, {"id", "title", "priority", "estimation", "assignee", "summary", "vision"});
      !st)
    return st.error();
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  auto a = artifact_in(session->index(), session->project, params);
  KB_TRY(a);
  artifact::EditSet edits;
  json changed = json::array();
  bool initiative = (*a)->type() == artifact::ArtifactType::initiative;
  for (const auto& f : fields) {
    auto it = params.find(f.name);
    if (it == params.end() || it->is_null())
      continue;
    // Content of another type would be written where upstream drops it.
    std::string_view name = f.name;
    if ((name == "vision" && !initiative) || (name == "summary" && initiative))
      return util::make_error(
          util::ErrorKind::invalid_argument,
          fmt::format("{} is {} {}, which has no {}", (*a)->id.str(), article((*a)->type()),
                      artifact::to_string((*a)->type()), name),
          {{"hint", initiative ? "an initiative's text is its vision: --vision"
                               : "issues and milestones say it in their summary: --summary"}});
    if (!it->is_string())
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("'{}' must be a string", f.name));
    if (name == "title" || name == "summary" || name == "vision")
      KB_TRY(check_field_text(name, it->get_ref<const std::string&>()));
    auto doc = edits.doc((*a)->path);
    KB_TRY(doc);
    KB_TRY((*doc)->set_scalar(f.path, it->get<std::string>(), f.plain));
    changed.push_back(f.name);
  }
  if (changed.empty())
    return util::make_error(util::ErrorKind::invalid_argument, "nothing to edit",
                            {{"hint", "pass a field, e.g. --title or --priority"}});
  return commit_edits(*session, edits, params, {{"id", (*a)->id.str()}, {"fields", changed}});
}

} // namespace kb::api
