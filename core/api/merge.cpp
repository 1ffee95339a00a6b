// Merging artifact files: the git merge driver's method, and `resolve` for files a merge left
// with conflict markers. Both use artifact::merge_artifact_texts.
#include "core/artifact/merge.hpp"
#include "core/api/methods.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/layout.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"
#include "core/util/text.hpp"
#include "core/validate/validator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

namespace fs = std::filesystem;

namespace {

// Rules the merged history breaks (the transition table, event order): kept for `validate`
// to report, never picked away silently; the driver says so.
std::vector<std::string> history_warnings(const std::string& path, const std::string& text) {
  std::vector<std::string> out;
  auto id = artifact::id_from_filename(fs::path(path).filename().string());
  if (!id)
    return out;
  auto read = artifact::read_artifact_text(*id, path, text);
  auto* a = std::get_if<artifact::Artifact>(&read);
  if (!a)
    return out;
  for (const auto& f : validate::validate_artifact(*a, validate::Mode::lenient))
    if (f.severity == validate::Severity::error && f.field.starts_with("metadata.events"))
      out.push_back(fmt::format("{}: the merged history keeps both sides' events and breaks a "
                                "rule ({}: {}); run `kodebase validate {}`",
                                id->str(), f.code, f.message, id->str()));
  return out;
}

json merge_json(const artifact::MergeOutcome& m, const std::string& path) {
  json out{{"clean", m.conflicts.empty()},
           {"text", m.text},
           {"conflicts", m.conflicts},
           {"merged", m.merged},
           {"fallback", false}};
  out["warnings"] =
      m.conflicts.empty() ? history_warnings(path, m.text) : std::vector<std::string>{};
  return out;
}

// The versions git's index holds for a path in a merge (stage 1 base, 2 ours, 3 theirs), or
// nullopt when it holds no conflict there.
std::optional<artifact::ConflictSides> index_stages(const repo::Project& p,
                                                    const std::string& rel) {
  auto stage = [&](int n) {
    return repo::git_output(p, {"show", fmt::format(":{}:./{}", n, rel)}, false);
  };
  auto ours = stage(2), theirs = stage(3);
  if (!ours || !theirs)
    return std::nullopt;
  return artifact::ConflictSides{stage(1).value_or(""), std::move(*ours), std::move(*theirs)};
}

} // namespace

util::Result<json> artifacts_merge(Context&, const json& params) {
  std::string texts[3];
  const char* keys[] = {"base", "ours", "theirs"};
  for (int i = 0; i < 3; ++i) {
    auto it = params.find(keys[i]);
    if (it == params.end() || !it->is_string())
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("params.{} (the file's text) is required", keys[i]));
    texts[i] = it->get<std::string>();
  }
  auto size = params.value("marker_size", json(7));
  if (!size.is_number_integer() || size.get<int>() < 1 || size.get<int>() > 64)
    return util::make_error(util::ErrorKind::invalid_argument,
                            "params.marker_size must be a whole number from 1 to 64");
  std::string path = params.contains("path") && params["path"].is_string()
                         ? params["path"].get<std::string>()
                         : std::string("artifact.yml");
  artifact::MergeOptions options;
  options.marker_size = size.get<int>();
  auto merged = artifact::merge_artifact_texts(texts[0], texts[1], texts[2], options);
  if (!merged) // a side is not a document: git's merge of lines does it
    return json{{"clean", false}, {"fallback", true}, {"reason", merged.error().message}};
  return merge_json(*merged, path);
}

util::Result<json> artifacts_resolve(Context& ctx, const json& params) {
  KB_TRY(check_known_fields(params, {"ids", "all"}));
  auto ids = list_param(params, "ids");
  KB_TRY(ids);
  bool all = params.value("all", false);
  if (ids->empty() && !all)
    return util::make_error(util::ErrorKind::invalid_argument,
                            "name the artifacts to resolve, or pass all",
                            {{"hint", "`kodebase resolve A.1.3`, or `kodebase resolve --all`"}});
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  const auto& index = session->index();
  // The conflicted files: those read from one side, and those no side of which reads.
  std::vector<std::pair<std::string, fs::path>> files;
  for (const auto& problem : index.problems())
    if (problem.code == "CONFLICT" && problem.id &&
        (all || std::find(ids->begin(), ids->end(), problem.id->str()) != ids->end()))
      files.emplace_back(problem.id->str(), problem.path);
  for (const auto& id : *ids)
    if (std::none_of(files.begin(), files.end(), [&](const auto& f) { return f.first == id; })) {
      if (!index.find(id))
        return util::make_error(util::ErrorKind::not_found,
                                fmt::format("artifact {} not found", id),
                                {{"hint", "run `kodebase validate` to see the conflicted files"}});
      return util::make_error(util::ErrorKind::failed,
                              fmt::format("{} has no conflict markers: nothing to resolve", id));
    }
  std::map<fs::path, std::string> texts;
  json resolved = json::array(), conflicted = json::array();
  std::vector<std::string> unmerged; // resolved files git still lists as unmerged
  for (const auto& [id, path] : files) {
    auto rel = session->project.relative(path);
    auto now = util::read_file(path);
    KB_TRY(now);
    // git's index has the three versions while the merge is under way; else the markers do.
    auto sides = index_stages(session->project, rel);
    bool from_index = sides.has_value();
    if (!sides)
      sides = artifact::split_conflict(*now);
    auto merged = artifact::merge_artifact_texts(sides->base, sides->ours, sides->theirs);
    if (!merged) {
      conflicted.push_back({{"id", id}, {"path", rel}, {"reason", merged.error().message}});
      continue;
    }
    texts[path] = merged->text;
    json entry{{"id", id}, {"path", rel}, {"merged", merged->merged}};
    if (merged->conflicts.empty()) {
      entry["warnings"] = history_warnings(path.string(), merged->text);
      resolved.push_back(std::move(entry));
      if (from_index)
        unmerged.push_back(rel);
    } else {
      entry["conflicts"] = merged->conflicts;
      conflicted.push_back(std::move(entry));
    }
  }
  auto result =
      commit_files(*session, texts, params, {{"resolved", resolved}, {"conflicted", conflicted}});
  if (!result || params.value("dry_run", false))
    return result;
  // The merge under way learns these files are settled (as `git add` would say it).
  for (const auto& rel : unmerged)
    (void)repo::git_output(session->project, {"add", "--", rel});
  (*result)["staged"] = unmerged;
  return result;
}

} // namespace kb::api
