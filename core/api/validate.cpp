#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/validate/validator.hpp"

#include <fmt/format.h>

namespace kb::api {

util::Result<json> artifacts_validate(Context& ctx, const json& params) {
  std::vector<artifact::ArtifactId> only;
  if (auto it = params.find("ids"); it != params.end() && !it->is_null()) {
    if (!it->is_array())
      return util::make_error(util::ErrorKind::invalid_argument, "'ids' must be a list of IDs");
    for (const auto& v : *it) {
      auto id = artifact::ArtifactId::parse_or_error(v.is_string() ? v.get<std::string>() : "");
      KB_TRY(id);
      only.push_back(*id);
    }
  }
  auto mode = params.value("strict", false) ? validate::Mode::strict : validate::Mode::lenient;
  json fixes = nullptr;
  if (params.value("fix", false)) {
    auto fixed = fix_artifacts(ctx, params);
    KB_TRY(fixed);
    fixes = std::move(*fixed);
  }
  // After fixes (not a dry run) the files changed, so the report reads them again.
  auto p = open_project(ctx, params);
  KB_TRY(p);
  for (const auto& id : only) {
    bool known = (*p)->index.find(id) != nullptr;
    for (const auto& problem : (*p)->index.problems())
      known |= problem.id == id;
    if (!known)
      return util::make_error(util::ErrorKind::not_found,
                              fmt::format("artifact {} not found", id.str()),
                              {{"hint", "run `kodebase list` to see the artifact IDs"}});
  }
  auto report = validate::validate_index((*p)->index, mode, only);
  json errors = json::array(), warnings = json::array();
  for (const auto& f : report.findings)
    (f.severity == validate::Severity::error ? errors : warnings)
        .push_back(finding_json((*p)->project, f));
  json out{{"valid", report.valid()},
           {"artifacts", report.artifacts},
           {"strict", mode == validate::Mode::strict},
           {"errors", std::move(errors)},
           {"warnings", std::move(warnings)}};
  if (!fixes.is_null()) {
    out["fixes"] = fixes["fixes"];
    out["dry_run"] = fixes["dry_run"];
  }
  return out;
}

} // namespace kb::api
