#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

// GitHub webhook deliveries: their signature, and what a push or a pull_request means for
// kodebase. Pure functions of the bytes received (the payload parser is fuzzed).
namespace kb::daemon::github {

// "sha256=" + the hex HMAC-SHA-256 of `body` under `secret`: GitHub's X-Hub-Signature-256.
std::string webhook_signature(std::string_view secret, std::string_view body);
// Whether `header` is the signature of `body` under `secret`, compared in constant time (a
// header of the wrong length or form is simply not it).
bool webhook_signature_valid(std::string_view secret, std::string_view body,
                             std::string_view header);
// Whether `header` has the form of a signature (`sha256=` and 64 hex digits): what a
// delivery's headers must show before its body is read at all.
bool well_formed_signature(std::string_view header);

// An artifact file a push added, modified or removed.
struct PushedArtifact {
  std::string id;     // from the file name (A.1.2.slug.yml → A.1.2)
  std::string path;   // in the repository
  std::string change; // created, changed or deleted (as local changes are named)
};

// What one delivery asks of the relay.
struct WebhookMeaning {
  std::string event;      // push, pull_request, ping, or anything else (ignored)
  std::string repository; // owner/name as GitHub spells it ("" for events without one)
  std::string sender;     // the GitHub login that caused it
  // push
  std::string branch; // refs/heads/<branch> (empty for tags)
  std::string before, after;
  std::vector<PushedArtifact> artifacts; // the net change per file, in path order
  // pull_request: the envelope to publish (null when the action is not one we relay)
  nlohmann::json pull_request;
  std::string zen; // ping
};

// The artifacts folder inside a repository.
inline constexpr std::string_view k_artifacts_prefix = ".kodebase/artifacts/";

// Reads the JSON body of a delivery of `event`. Malformed JSON, or a push or pull_request
// without the fields GitHub always sends, is an error (kind invalid_argument).
util::Result<WebhookMeaning> parse_webhook(std::string_view event, std::string_view body);

// The artifact ID a file name starts with ("A.1.2.slug.yml" → "A.1.2"; "" when none).
std::string artifact_id_of_file(std::string_view file_name);

} // namespace kb::daemon::github
