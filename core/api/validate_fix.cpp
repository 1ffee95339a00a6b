// `validate --fix`: safe mechanical repairs, each reported, written like any other change.
#include "core/api/methods.hpp"
#include "core/api/write_session.hpp"
#include "core/util/time.hpp"
#include "core/validate/validator.hpp"

#include <fmt/format.h>

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
    if (!doc)
      return doc.error();
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

// The missing side of one-sided dependency pairs between existing siblings.
util::Status fix_pairs(const artifact::ArtifactIndex& index, const artifact::Artifact& a,
                       artifact::EditSet& edits, std::vector<Fix>& fixes) {
  for (const auto& target : a.blocked_by) {
    const artifact::Artifact* t = index.find(target);
    if (!t || t->id.parent() != a.id.parent() || t->type() != a.type() ||
        std::find(t->blocks.begin(), t->blocks.end(), a.id.str()) != t->blocks.end())
      continue;
    auto doc = edits.doc(t->path);
    if (!doc)
      return doc.error();
    if (auto st = (*doc)->add_to_list({"metadata", "relationships", "blocks"}, a.id.str()); !st)
      return st;
    fixes.push_back(
        {t->id.str(), t->path, "RELATIONSHIP_INCONSISTENT_PAIR",
         fmt::format("added {} to blocks (it lists {} in blocked_by)", a.id.str(), t->id.str())});
  }
  for (const auto& target : a.blocks) {
    const artifact::Artifact* t = index.find(target);
    if (!t || t->id.parent() != a.id.parent() || t->type() != a.type() ||
        std::find(t->blocked_by.begin(), t->blocked_by.end(), a.id.str()) != t->blocked_by.end())
      continue;
    auto doc = edits.doc(t->path);
    if (!doc)
      return doc.error();
    if (auto st = (*doc)->add_to_list({"metadata", "relationships", "blocked_by"}, a.id.str()); !st)
      return st;
    fixes.push_back(
        {t->id.str(), t->path, "RELATIONSHIP_INCONSISTENT_PAIR",
         fmt::format("added {} to blocked_by (it lists {} in blocks)", a.id.str(), t->id.str())});
  }
  return util::ok_status();
}

} // namespace

util::Result<json> fix_artifacts(const json& params) {
  auto session = open_for_write(params);
  if (!session)
    return session.error();
  artifact::EditSet edits;
  std::vector<Fix> fixes;
  for (const auto& [id, a] : session->index.all()) {
    if (auto st = fix_timestamps(a, edits, fixes); !st)
      return st.error();
    if (auto st = fix_pairs(session->index, a, edits, fixes); !st)
      return st.error();
  }
  auto written = commit_edits(*session, edits, params, json::object());
  if (!written)
    return written.error();
  json out = json::array();
  for (const auto& f : fixes)
    out.push_back({{"id", f.id},
                   {"path", session->project.relative(f.path)},
                   {"code", f.code},
                   {"fix", f.description}});
  return json{{"fixes", out}, {"dry_run", (*written)["dry_run"]}};
}

} // namespace kb::api
