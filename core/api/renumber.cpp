// `renumber`: an artifact (and, for a milestone or initiative, everything under it) gets
// another ID, with every file renamed and every reference rewritten; what two branches both
// minted is repaired this way.
#include "core/api/renumber.hpp"

#include "core/api/methods.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/edit.hpp"
#include "core/artifact/layout.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

namespace kb::api {

namespace fs = std::filesystem;
using artifact::Artifact;
using artifact::ArtifactId;
using artifact::DocumentText;

namespace {

// A file or folder name that starts with `from` as an ID (`A.1` in `A.1.x`, `A.1.yml`,
// `A.1.3.y.yml`, not in `A.11`) with `to` in its place.
std::string renamed_component(const std::string& name, const std::string& from,
                              const std::string& to) {
  if (name.size() < from.size() || name.compare(0, from.size(), from) != 0 ||
      (name.size() > from.size() && name[from.size()] != '.'))
    return name;
  return to + name.substr(from.size());
}

// Rewrites the references `doc` makes to renamed IDs: dependency lists and the blocking
// dependencies of its events. True when anything changed.
util::Result<bool> rewrite_references(DocumentText& doc,
                                      const std::map<std::string, std::string>& renamed) {
  bool changed = false;
  for (const char* list : {"blocks", "blocked_by"}) {
    std::vector<std::string> path = {"metadata", "relationships", list};
    const auto* node = doc.root().find("metadata");
    node = node ? node->find("relationships") : nullptr;
    node = node ? node->find(list) : nullptr;
    for (size_t i = 0; node && node->is_sequence() && i < node->items.size(); ++i) {
      auto it = renamed.find(node->items[i].scalar);
      if (!node->items[i].is_scalar() || it == renamed.end())
        continue;
      KB_TRY(doc.set_item(path, i, it->second));
      changed = true;
      node = doc.root().find("metadata")->find("relationships")->find(list); // re-read
    }
  }
  const auto* meta = doc.root().find("metadata");
  const auto* events = meta ? meta->find("events") : nullptr;
  size_t count = events && events->is_sequence() ? events->items.size() : 0;
  for (size_t e = 0; e < count; ++e) {
    for (size_t d = 0;; ++d) {
      const auto* ev = &doc.root().find("metadata")->find("events")->items[e];
      const auto* em = ev->find("metadata");
      const auto* deps = em ? em->find("blocking_dependencies") : nullptr;
      if (!deps || !deps->is_sequence() || d >= deps->items.size())
        break;
      auto id = artifact::scalar_text(deps->items[d].find("artifact_id"));
      auto it = renamed.find(id);
      if (it == renamed.end())
        continue;
      if (auto st = doc.set_scalar({"metadata", "events", std::to_string(e), "metadata",
                                    "blocking_dependencies", std::to_string(d), "artifact_id"},
                                   it->second, true);
          !st)
        return st.error();
      changed = true;
    }
  }
  return changed;
}

// IDs named by an artifact's references (dependency lists, blocking dependencies).
std::vector<std::string> references_of(const Artifact& a) {
  std::vector<std::string> out = a.blocks;
  out.insert(out.end(), a.blocked_by.begin(), a.blocked_by.end());
  for (const auto& e : a.events)
    for (const auto& d : e.blocking_dependencies)
      out.push_back(d.artifact_id);
  return out;
}

// After a merge commit (HEAD) brought two files with one ID: the revision of the side that had
// only `target` and that of the side that had only `other`, or nullopt when HEAD is no such
// merge.
std::optional<std::pair<std::string, std::string>>
merge_sides(const repo::Project& p, const fs::path& target, const fs::path& other) {
  if (!repo::git_output(p, {"rev-parse", "-q", "--verify", "HEAD^2"}))
    return std::nullopt;
  auto has = [&](const char* rev, const fs::path& file) {
    return repo::git_output(p, {"cat-file", "-e", fmt::format("{}:./{}", rev, p.relative(file))})
        .has_value();
  };
  for (auto [mine, theirs] : {std::pair{"HEAD^2", "HEAD^1"}, std::pair{"HEAD^1", "HEAD^2"}})
    if (has(mine, target) && !has(theirs, target) && has(theirs, other) && !has(mine, other))
      return std::pair{std::string(mine), std::string(theirs)};
  return std::nullopt;
}

// Whether the artifact at `path` named `id` in revision `rev`.
bool named_at(const repo::Project& p, const std::string& rev, const Artifact& a,
              const std::string& id) {
  auto text = repo::git_output(p, {"show", fmt::format("{}:./{}", rev, p.relative(a.path))}, false);
  if (!text)
    return false;
  auto read = artifact::read_artifact_text(a.id, a.path, *text);
  auto* then = std::get_if<Artifact>(&read);
  if (!then)
    return false;
  auto refs = references_of(*then);
  return std::find(refs.begin(), refs.end(), id) != refs.end();
}

bool inside(const fs::path& path, const fs::path& folder) {
  const auto &p = path.native(), &f = folder.native();
  return p.size() > f.size() + 1 && p.compare(0, f.size(), f) == 0 && p[f.size()] == '/';
}

} // namespace

const Artifact* later_of_duplicates(const artifact::ArtifactIndex& index, const ArtifactId& id) {
  const Artifact* first = index.find(id);
  const Artifact* later = first;
  auto created = [](const Artifact* a) {
    return a->events.empty() ? std::string() : a->events.front().timestamp;
  };
  for (const auto& d : index.duplicates())
    if (d.id == id && (!later || std::pair(created(&d), d.path.native()) >
                                     std::pair(created(later), later->path.native())))
      later = &d;
  return later;
}

util::Result<RenumberPlan> plan_renumber(const LoadedProject& p, const Artifact& a,
                                         const ArtifactId& to, bool duplicate) {
  const auto& index = p.index;
  const ArtifactId& from = a.id;
  if (to.depth() != from.depth() || to.parent() != from.parent())
    return util::make_error(
        util::ErrorKind::invalid_argument,
        fmt::format("{} is not a sibling ID of {}: renumbering keeps the parent", to.str(),
                    from.str()),
        {{"hint", fmt::format("pick a free ID under {}, or leave --to out for the next one",
                              from.parent() ? from.parent()->str() : std::string("the root"))}});
  auto taken = index.ids();
  if (to == from || std::find(taken.begin(), taken.end(), to) != taken.end())
    return util::make_error(util::ErrorKind::conflict,
                            fmt::format("{} is taken: pick a free ID", to.str()),
                            {{"hint", "leave --to out for the next free one"}});
  RenumberPlan plan;
  // What moves: the artifact's file, or its folder with everything in it.
  bool folder = a.type() != artifact::ArtifactType::issue;
  fs::path root = folder ? a.path.parent_path() : a.path;
  std::vector<const Artifact*> members;
  auto take = [&](const Artifact& m) {
    if (&m == &a || (folder && inside(m.path, root)))
      members.push_back(&m);
  };
  for (const auto& [_, m] : index.all())
    take(m);
  for (const auto& m : index.duplicates())
    take(m);
  for (const Artifact* m : members) {
    std::string old_id = m->id.str();
    plan.renamed[old_id] = to.str() + old_id.substr(from.str().size());
  }
  auto new_path = [&](const fs::path& path) {
    fs::path out = root.parent_path();
    for (const auto& part : path.lexically_relative(root.parent_path()))
      out /= renamed_component(part.string(), from.str(), to.str());
    return out;
  };
  // Files that do not read move too: their names carry the IDs.
  for (const auto& problem : index.problems())
    if (problem.code != "DUPLICATE_ID" && problem.code != "CONFLICT" &&
        (problem.path == root || (folder && inside(problem.path, root)))) {
      auto text = util::read_file(problem.path);
      KB_TRY(text);
      plan.writes[new_path(problem.path)] = *text;
      plan.removals.push_back(problem.path);
    }
  for (const Artifact* m : members) {
    auto text = util::read_file(m->path);
    KB_TRY(text);
    auto doc = DocumentText::parse(std::move(*text));
    if (!doc)
      return util::make_error(
          util::ErrorKind::failed,
          fmt::format("cannot renumber {}: {}", m->id.str(), doc.error().message),
          {{"hint", "fix the file first (`kodebase validate` says where)"}});
    KB_TRY(rewrite_references(*doc, plan.renamed));
    if (m == &a && !a.events.empty()) {
      // The renumbering is recorded where upstream tolerates data: the last event's metadata.
      auto last = std::to_string(a.events.size() - 1);
      if (auto st = doc->set_scalar({"metadata", "events", last, "metadata", "renumbered_from"},
                                    from.str(), false);
          !st)
        return st.error();
    }
    plan.writes[new_path(m->path)] = doc->text();
    plan.removals.push_back(m->path);
  }
  // References from everywhere else: rewritten, unless the old ID also names a twin. Then a
  // reference made on the side of the merge that had only this file means this one.
  std::optional<std::pair<std::string, std::string>> sides;
  if (duplicate) {
    const Artifact* twin = index.find(from);
    for (const auto& d : index.duplicates())
      if (d.id == from && &d != &a)
        twin = &d;
    if (twin && twin != &a)
      sides = merge_sides(p.project, a.path, twin->path);
  }
  for (const auto& [_, other] : index.all()) {
    if (std::find(members.begin(), members.end(), &other) != members.end())
      continue;
    auto refs = references_of(other);
    bool names = std::any_of(refs.begin(), refs.end(),
                             [&](const std::string& r) { return plan.renamed.contains(r); });
    if (!names)
      continue;
    if (duplicate) {
      bool here = sides && named_at(p.project, sides->first, other, from.str());
      bool there = sides && named_at(p.project, sides->second, other, from.str());
      if (!here || there) {
        if (!there || here)
          plan.ambiguous.push_back(other.id.str()); // no way to tell which one it means
        continue;
      }
    }
    auto text = util::read_file(other.path);
    KB_TRY(text);
    auto doc = DocumentText::parse(std::move(*text));
    KB_TRY(doc);
    KB_TRY(rewrite_references(*doc, plan.renamed));
    plan.writes[other.path] = doc->text();
    plan.rewritten.push_back(other.id.str());
  }
  if (folder) {
    plan.old_folders.push_back(root);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec))
        plan.old_folders.push_back(it->path());
    std::sort(plan.old_folders.rbegin(), plan.old_folders.rend()); // deepest first
  }
  std::erase_if(plan.removals, [&](const fs::path& old) { return plan.writes.contains(old); });
  return plan;
}

util::Status apply_renumber(const repo::Project& project, const RenumberPlan& plan) {
  repo::Transaction tx;
  for (const auto& [path, text] : plan.writes)
    tx.put(path, text);
  for (const auto& path : plan.removals)
    tx.remove(path);
  KB_TRY(tx.commit(project));
  for (const auto& dir : plan.old_folders)
    ::rmdir(dir.c_str()); // only when empty
  return util::ok_status();
}

util::Result<json> artifacts_renumber(Context& ctx, const json& params) {
  KB_TRY(check_known_fields(params, {"id", "to", "file"}));
  auto id_text = string_param(params, "id");
  KB_TRY(id_text);
  auto id = ArtifactId::parse_or_error(*id_text);
  KB_TRY(id);
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  const auto& index = session->index();
  bool duplicate = std::any_of(index.duplicates().begin(), index.duplicates().end(),
                               [&](const Artifact& d) { return d.id == *id; });
  const Artifact* a = nullptr;
  if (auto file = params.value("file", ""); !file.empty()) {
    auto wanted = (session->project.root / file).lexically_normal();
    auto match = [&](const Artifact& x) { return x.id == *id && x.path == wanted; };
    for (const auto& [_, x] : index.all())
      if (match(x))
        a = &x;
    for (const auto& x : index.duplicates())
      if (match(x))
        a = &x;
    if (!a)
      return util::make_error(util::ErrorKind::not_found,
                              fmt::format("{} is not the file of {}", file, id->str()),
                              {{"hint", "`kodebase list --json` shows each artifact's path"}});
  } else {
    a = duplicate ? later_of_duplicates(index, *id) : index.find(*id);
  }
  if (!a)
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("artifact {} not found", id->str()),
                            {{"hint", "run `kodebase list` to see the artifact IDs"}});
  ArtifactId to = *id;
  if (auto t = params.value("to", ""); !t.empty()) {
    auto parsed = ArtifactId::parse_or_error(t);
    KB_TRY(parsed);
    to = *parsed;
  } else {
    to = artifact::next_id(id->parent(), index.ids());
  }
  auto plan = plan_renumber(*session->loaded, *a, to, duplicate);
  KB_TRY(plan);
  json renamed = json::object();
  for (const auto& [from, into] : plan->renamed)
    renamed[from] = into;
  // Branches named by an old ID keep their name: git's, not ours, to change.
  json branches = json::array();
  for (const auto& [from, into] : plan->renamed)
    if (auto out = repo::git_output(session->project, {"branch", "--list", from});
        out && !out->empty())
      branches.push_back(
          {{"branch", from}, {"hint", fmt::format("git branch -m {} {}", from, into)}});
  json result{{"id", id->str()},
              {"to", to.str()},
              {"file", session->project.relative(a->path)},
              {"renamed", renamed},
              {"rewritten", plan->rewritten},
              {"ambiguous", plan->ambiguous},
              {"branches", branches}};
  bool dry_run = params.value("dry_run", false);
  if (auto errors = new_errors(session->index(), plan->writes); !errors.empty())
    return invalid_result(session->project, errors);
  if (!dry_run)
    KB_TRY(apply_renumber(session->project, *plan));
  json files = json::array();
  for (const auto& [path, _] : plan->writes)
    files.push_back(session->project.relative(path));
  for (const auto& path : plan->removals)
    files.push_back(session->project.relative(path));
  result["files"] = files;
  result["dry_run"] = dry_run;
  return result;
}

} // namespace kb::api
