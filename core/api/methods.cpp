#include "core/api/methods.hpp"

#include "core/protocol/methods.hpp"

#include <fmt/format.h>

namespace kb::api {

namespace m = protocol::method;

namespace {

constexpr MethodEntry k_methods[] = {
    {m::project_init, project_init, "create .kodebase/ in a directory"},
    {m::project_status, project_status, "dashboard: counts, ready work, in progress, blocked"},
    {m::artifacts_list, nullptr, "artifacts matching a filter", artifacts_list},
    {m::artifacts_get, artifacts_get, "one artifact with readiness"},
    {m::artifacts_tree, artifacts_tree, "the hierarchy"},
    {m::artifacts_log, artifacts_log, "an artifact's event history"},
    {m::artifacts_next, artifacts_next, "work to pick up next, best first"},
    {m::artifacts_context, artifacts_context, "an AI context pack in Markdown"},
    {m::artifacts_validate, artifacts_validate, "validation report"},
    {m::artifacts_commits, artifacts_commits, "the commits on an artifact's branch"},
    {m::artifacts_create, artifacts_create, "create an initiative, milestone or issue"},
    {m::artifacts_ready, artifacts_ready, "draft → ready, or blocked on unfinished blockers"},
    {m::artifacts_start, artifacts_start, "ready → in_progress, with the progress cascade"},
    {m::artifacts_submit, artifacts_submit, "in_progress → in_review"},
    {m::artifacts_complete, artifacts_complete, "in_review → completed, readying dependents"},
    {m::artifacts_cancel, artifacts_cancel, "cancel, with the guard and an impact report"},
    {m::artifacts_block, artifacts_block, "draft → blocked on its unfinished blockers"},
    {m::artifacts_archive, artifacts_archive, "cancelled → archived, with cancelled descendants"},
    {m::artifacts_edit, artifacts_edit, "change fields of an artifact"},
    {m::artifacts_link, artifacts_link, "add blocked_by dependencies (both sides)"},
    {m::artifacts_unlink, artifacts_unlink, "remove blocked_by dependencies (both sides)"},
    {m::artifacts_merge, artifacts_merge, "three-way merge of one artifact file's texts"},
    {m::artifacts_resolve, artifacts_resolve, "merge files left with conflict markers"},
    {m::artifacts_renumber, artifacts_renumber, "give an artifact another ID, references too"},
    {m::hooks_install, hooks_install, "add kodebase's block to the git hooks"},
    {m::hooks_uninstall, hooks_uninstall, "remove kodebase's block from the git hooks"},
    {m::hooks_status, hooks_status, "which git hooks carry kodebase's block"},
    {m::hooks_run, hooks_run, "what a git hook does for the project"},
    {m::config_get, config_get, "one setting's value"},
    {m::config_set, config_set, "change a setting in its file, in place"},
    {m::config_list, config_list, "every setting with its value and file"},
    {m::config_preset, config_preset, "apply a preset: solo, small_team or enterprise"},
};

} // namespace

std::span<const MethodEntry> method_table() {
  return k_methods;
}

const MethodEntry* find_method(std::string_view name) {
  for (const auto& e : k_methods)
    if (e.name == name)
      return &e;
  return nullptr;
}

protocol::Response dispatch(Context& ctx, const protocol::Request& request) {
  const MethodEntry* entry = find_method(request.method);
  if (!entry)
    return protocol::error_response(request.id, protocol::k_method_not_found,
                                    fmt::format("unknown method '{}'", request.method));
  if (!request.params.is_object())
    return protocol::error_response(request.id, protocol::k_invalid_params,
                                    "params must be an object");
  if (auto st = protocol::check_param_types(request.params); !st)
    return protocol::error_response(request.id, st.error());
  try {
    if (entry->text_handler) {
      auto text = entry->text_handler(ctx, request.params);
      if (!text)
        return protocol::error_response(request.id, text.error());
      return protocol::Response{request.id, std::nullopt, std::nullopt, std::move(*text)};
    }
    auto result = entry->handler(ctx, request.params);
    if (!result)
      return protocol::error_response(request.id, result.error());
    return protocol::Response{request.id, std::move(*result), std::nullopt};
  } catch (const nlohmann::json::exception& e) {
    // A param of the wrong type that a handler read without checking.
    return protocol::error_response(
        request.id,
        util::make_error(util::ErrorKind::invalid_argument,
                         fmt::format("bad params for {}: {}", request.method, e.what())));
  } catch (const std::exception& e) {
    return protocol::error_response(
        request.id,
        util::make_error(util::ErrorKind::internal,
                         fmt::format("internal error in {}: {}", request.method, e.what())));
  }
}

} // namespace kb::api
