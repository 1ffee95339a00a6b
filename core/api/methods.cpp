#include "core/api/methods.hpp"

#include "core/protocol/methods.hpp"

#include <fmt/format.h>

namespace kb::api {

namespace m = protocol::method;

namespace {

constexpr MethodEntry k_methods[] = {
    {m::project_init, project_init, "create .kodebase/ in a directory"},
    {m::project_status, project_status, "dashboard: counts, ready work, in progress, blocked"},
    {m::artifacts_list, artifacts_list, "artifacts matching a filter"},
    {m::artifacts_get, artifacts_get, "one artifact with readiness"},
    {m::artifacts_tree, artifacts_tree, "the hierarchy"},
    {m::artifacts_log, artifacts_log, "an artifact's event history"},
    {m::artifacts_next, artifacts_next, "work to pick up next, best first"},
    {m::artifacts_context, artifacts_context, "an AI context pack in Markdown"},
    {m::artifacts_validate, artifacts_validate, "validation report"},
};

} // namespace

std::string_view version() {
  return KODEBASE_VERSION;
}
std::string_view build_id() {
  return KODEBASE_BUILD_ID;
}

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
  try {
    auto result = entry->handler(ctx, request.params);
    if (!result)
      return protocol::error_response(request.id, result.error());
    return protocol::Response{request.id, std::move(*result), std::nullopt};
  } catch (const std::exception& e) {
    return protocol::error_response(
        request.id,
        util::make_error(util::ErrorKind::internal,
                         fmt::format("internal error in {}: {}", request.method, e.what())));
  }
}

} // namespace kb::api
