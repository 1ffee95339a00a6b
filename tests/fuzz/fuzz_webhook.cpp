// The webhook relay's payload parser: a delivery's event name (chosen by the first byte) and
// JSON body, as GitHub or anyone reaching the port may send them once the signature matched.
// Whatever arrives, parsing ends in an error or in updates that name an artifact file inside
// the artifacts folder, a known kind of change, and pull-request updates of the relayed actions.
#include "daemon/github/webhook.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static constexpr std::string_view k_events[] = {"push", "pull_request", "ping", "issues"};
  auto event = k_events[data[0] % 4];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  // The signature check takes any header without harm.
  if (kb::daemon::github::webhook_signature_valid("secret", body, body.substr(0, 71)))
    std::abort(); // a body is not its own signature
  auto meaning = kb::daemon::github::parse_webhook(event, body);
  if (!meaning)
    return 0;
  for (const auto& a : meaning->artifacts) {
    if (a.id.empty() || !a.path.starts_with(kb::daemon::github::k_artifacts_prefix))
      std::abort();
    if (a.change != "created" && a.change != "changed" && a.change != "deleted")
      std::abort();
  }
  const auto& pr = meaning->pull_request;
  if (!pr.is_null()) {
    if (event != "pull_request" || pr.value("kind", "") != "pull_request")
      std::abort();
    auto action = pr.value("action", "");
    if (action != "opened" && action != "reopened" && action != "ready_for_review" &&
        action != "closed")
      std::abort();
  }
  return 0;
}
