// `validate --fix`: safe mechanical repairs, each reported, written like any other change.
#include "core/api/methods.hpp"
#include "core/api/renumber.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/writer.hpp"
#include "core/util/time.hpp"
#include "core/validate/validator.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

namespace {

struct Fix {
  std::string id;
  std::filesystem::path path;
  std::string code;
  std::string description;
};

// Timestamps that parse unambiguously (fractions, `+00:00`, a space) in the strict form.
util::Status fix_timestamps(const artifact::Artifact& a, artifact::EditSet& edits,
                            std::vector<Fix>& fixes) {
  for (size_t i = 0; i < a.events.size(); ++i) {
    const auto& ts = a.events[i].timestamp;
    if (ts.empty() || util::parse_utc_strict(ts))
      continue;
    auto t = util::parse_utc_lenient(ts);
    if (!t)
      continue; // ambiguous or broken: left for a person
    auto doc = edits.doc(a.path);
    KB_TRY(doc);
    auto normal = util::format_utc(*t);
    if (auto st = (*doc)->set_scalar({"metadata", "events", std::to_string(i), "timestamp"}, normal,
                                     false);
        !st)
      return st;
    fixes.push_back({a.id.str(), a.path, "TIMESTAMP_INVALID",
                     fmt::format("metadata.events[{}].timestamp: '{}' → '{}'", i, ts, normal)});
  }
  return util::ok_status();
}

// For each sibling `a` names in `mine`, adds `a` to that sibling's `theirs` when missing.
util::Status add_missing_side(const artifact::ArtifactIndex& index, const artifact::Artifact& a,
                              const std::vector<std::string>& mine, const char* theirs_key,
                              artifact::EditSet& edits, std::vector<Fix>& fixes) {
  for (const auto& target : mine) {
    const artifact::Artifact* t = index.find(target);
    if (!t || t->id.parent() != a.id.parent() || t->type() != a.type())
      continue;
    const auto& theirs = std::string_view(theirs_key) == "blocks" ? t->blocks : t->blocked_by;
    if (std::find(theirs.begin(), theirs.end(), a.id.str()) != theirs.end())
      continue;
    auto doc = edits.doc(t->path);
    KB_TRY(doc);
    KB_TRY((*doc)->add_to_list({"metadata", "relationships", theirs_key}, a.id.str()));
    fixes.push_back(
        {t->id.str(), t->path, "RELATIONSHIP_INCONSISTENT_PAIR",
         fmt::format("added {} to {} (it lists {} in {})", a.id.str(), theirs_key, t->id.str(),
                     std::string_view(theirs_key) == "blocks" ? "blocked_by" : "blocks")});
  }
  return util::ok_status();
}

// The missing side of one-sided dependency pairs between existing siblings.
util::Status fix_pairs(const artifact::ArtifactIndex& index, const artifact::Artifact& a,
                       artifact::EditSet& edits, std::vector<Fix>& fixes) {
  KB_TRY(add_missing_side(index, a, a.blocked_by, "blocks", edits, fixes));
  return add_missing_side(index, a, a.blocks, "blocked_by", edits, fixes);
}

// Top-level and metadata keys in canonical order, each key's lines moved whole.
util::Status fix_key_order(const artifact::Artifact& a, artifact::EditSet& edits,
                           std::vector<Fix>& fixes) {
  struct Level {
    std::vector<std::string> path;
    std::span<const std::string_view> order;
    const char* name;
  };
  for (const Level& level : {Level{{}, artifact::k_top_order, "top-level keys"},
                             Level{{"metadata"}, artifact::k_metadata_order, "metadata keys"}}) {
    const artifact::YamlNode* map = &a.document;
    for (const auto& key : level.path)
      map = map ? map->find(key) : nullptr;
    if (!map || !map->is_mapping())
      continue;
    auto want = artifact::canonical_positions(*map, level.order);
    if (std::is_sorted(want.begin(), want.end()))
      continue;
    auto doc = edits.doc(a.path);
    KB_TRY(doc);
    auto moved = (*doc)->reorder_keys(level.path, level.order);
    if (!moved)
      continue; // a layout it cannot move safely: left for a person
    std::vector<std::string> keys;
    for (size_t i : want)
      keys.push_back(map->entries[i].key);
    fixes.push_back(
        {a.id.str(), a.path, "KEY_ORDER",
         fmt::format("{} put in canonical order: {}", level.name, fmt::join(keys, ", "))});
  }
  return util::ok_status();
}

} // namespace

util::Result<json> fix_artifacts(Context& ctx, const json& params) {
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  artifact::EditSet edits;
  std::vector<Fix> fixes;
  for (const auto& [id, a] : session->index().all()) {
    KB_TRY(fix_timestamps(a, edits, fixes));
    KB_TRY(fix_pairs(session->index(), a, edits, fixes));
    KB_TRY(fix_key_order(a, edits, fixes));
  }
  auto written = commit_edits(*session, edits, params, json::object());
  KB_TRY(written);
  // Two files with one ID: the later one gets the next free ID, as `renumber` gives it.
  bool dry_run = params.value("dry_run", false);
  std::vector<artifact::ArtifactId> twins;
  for (const auto& d : session->index().duplicates())
    if (std::find(twins.begin(), twins.end(), d.id) == twins.end())
      twins.push_back(d.id);
  std::vector<artifact::ArtifactId> planned; // IDs given out in a dry run
  for (const auto& id : twins) {
    auto loaded = dry_run ? util::Result<std::shared_ptr<const LoadedProject>>(session->loaded)
                          : ctx.projects.open(session->project.root);
    KB_TRY(loaded);
    const auto& index = (*loaded)->index;
    const artifact::Artifact* a = later_of_duplicates(index, id);
    if (!a)
      continue;
    auto taken = index.ids();
    taken.insert(taken.end(), planned.begin(), planned.end());
    auto to = artifact::next_id(id.parent(), taken);
    auto plan = plan_renumber(**loaded, *a, to, true);
    if (!plan)
      continue; // a file it cannot edit in place: left for a person
    if (!dry_run)
      KB_TRY(apply_renumber(session->project, *plan));
    planned.push_back(to);
    fixes.push_back({id.str(), a->path, "DUPLICATE_ID",
                     fmt::format("{} renumbered {} (its twin keeps the ID{})", id.str(), to.str(),
                                 plan->ambiguous.empty()
                                     ? ""
                                     : "; check the references of " +
                                           fmt::format("{}", fmt::join(plan->ambiguous, ", ")))});
  }
  json out = json::array();
  for (const auto& f : fixes)
    out.push_back({{"id", f.id},
                   {"path", session->project.relative(f.path)},
                   {"code", f.code},
                   {"fix", f.description}});
  return json{{"fixes", out}, {"dry_run", (*written)["dry_run"]}};
}

} // namespace kb::api
