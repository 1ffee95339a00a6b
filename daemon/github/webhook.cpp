#include "daemon/github/webhook.hpp"

#include "core/util/hmac.hpp"
#include "core/util/json.hpp"

#include <openssl/crypto.h>

#include <cctype>
#include <map>

namespace kb::daemon::github {

using nlohmann::json;

namespace {

util::Error malformed(const std::string& what) {
  return util::make_error(util::ErrorKind::invalid_argument, "malformed webhook payload: " + what);
}

std::string text_at(const json& j, std::string_view key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag_at(const json& j, std::string_view key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// The artifact an ID-named branch is about ("A.1.2", also "origin/A.1.2"); "" otherwise.
std::string artifact_of_branch(std::string_view branch) {
  if (auto slash = branch.rfind('/'); slash != std::string_view::npos)
    branch = branch.substr(slash + 1);
  auto id = artifact_id_of_file(branch);
  return id.size() == branch.size() ? id : std::string();
}

} // namespace

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + util::hmac_sha256_hex(secret, body);
}

bool webhook_signature_valid(std::string_view secret, std::string_view body,
                             std::string_view header) {
  if (secret.empty())
    return false;
  auto expected = webhook_signature(secret, body);
  // GitHub sends lower-case hex; the length check leaks only what everyone knows.
  return header.size() == expected.size() &&
         CRYPTO_memcmp(header.data(), expected.data(), expected.size()) == 0;
}

bool well_formed_signature(std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (header.size() != prefix.size() + 64 || !header.starts_with(prefix))
    return false;
  for (char c : header.substr(prefix.size()))
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

std::string artifact_id_of_file(std::string_view name) {
  size_t i = 0;
  while (i < name.size() && std::isupper(static_cast<unsigned char>(name[i])))
    ++i;
  if (i == 0 || i > 3)
    return "";
  size_t end = i;
  while (end < name.size() && name[end] == '.' && end + 1 < name.size() &&
         std::isdigit(static_cast<unsigned char>(name[end + 1]))) {
    size_t j = end + 1;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j])))
      ++j;
    if (j - end - 1 > 6)
      return "";
    end = j;
  }
  if (end < name.size() && name[end] != '.')
    return "";
  return std::string(name.substr(0, end));
}

util::Result<WebhookMeaning> parse_webhook(std::string_view event, std::string_view body) {
  auto doc = util::parse_json_bounded(body, util::k_document_limits);
  if (doc.is_discarded() || !doc.is_object())
    return malformed("the body is not a JSON object");
  WebhookMeaning m;
  m.event = std::string(event);
  if (auto repo = doc.find("repository"); repo != doc.end() && repo->is_object())
    m.repository = text_at(*repo, "full_name");
  if (auto sender = doc.find("sender"); sender != doc.end() && sender->is_object())
    m.sender = text_at(*sender, "login");
  if (event == "ping") {
    m.zen = text_at(doc, "zen");
    return m;
  }
  if (event == "push") {
    auto ref = text_at(doc, "ref");
    if (ref.empty() || m.repository.empty())
      return malformed("a push without ref or repository.full_name");
    if (ref.starts_with("refs/heads/"))
      m.branch = ref.substr(11);
    m.before = text_at(doc, "before");
    m.after = text_at(doc, "after");
    auto commits = doc.find("commits");
    if (commits == doc.end() || commits->is_null())
      return m;
    if (!commits->is_array())
      return malformed("commits is not a list");
    // The net change of each artifact file over the pushed commits (oldest first).
    struct Seen {
      std::string first, last;
    };
    std::map<std::string, Seen> seen;
    for (const auto& c : *commits) {
      if (!c.is_object())
        return malformed("a commit is not an object");
      for (const char* op : {"added", "modified", "removed"}) {
        auto list = c.find(op);
        if (list == c.end() || list->is_null())
          continue;
        if (!list->is_array())
          return malformed(std::string("commit.") + op + " is not a list");
        for (const auto& path : *list) {
          if (!path.is_string())
            return malformed(std::string("commit.") + op + " holds a non-string");
          auto p = path.get<std::string>();
          if (!p.starts_with(k_artifacts_prefix) || !(p.ends_with(".yml") || p.ends_with(".yaml")))
            continue;
          auto& s = seen[p];
          if (s.first.empty())
            s.first = op;
          s.last = op;
        }
      }
    }
    for (const auto& [path, s] : seen) {
      auto file = std::string_view(path).substr(path.rfind('/') + 1);
      auto id = artifact_id_of_file(file);
      if (id.empty())
        continue;
      if (s.first == "added" && s.last == "removed")
        continue; // came and went within the push
      std::string change = s.last == "removed"  ? "deleted"
                           : s.first == "added" ? "created"
                                                : "changed";
      m.artifacts.push_back({id, path, change});
    }
    return m;
  }
  if (event == "pull_request") {
    auto pr = doc.find("pull_request");
    auto action = text_at(doc, "action");
    if (pr == doc.end() || !pr->is_object() || action.empty() || m.repository.empty())
      return malformed("a pull_request without action, pull_request or repository.full_name");
    auto number = pr->find("number");
    if (number == pr->end() || !number->is_number_integer())
      return malformed("pull_request.number is not a number");
    auto head = pr->value("head", json::object());
    auto base = pr->value("base", json::object());
    if (!head.is_object() || !base.is_object())
      return malformed("pull_request.head or .base is not an object");
    bool merged = flag_at(*pr, "merged");
    if (action != "opened" && action != "reopened" && action != "ready_for_review" &&
        action != "closed")
      return m; // relayed: the changes of a pull request's life that matter to the team
    auto branch = text_at(head, "ref");
    m.pull_request = {{"kind", "pull_request"},
                      {"action", action},
                      {"merged", merged},
                      {"number", number->get<long long>()},
                      {"title", text_at(*pr, "title")},
                      {"draft", flag_at(*pr, "draft")},
                      {"branch", branch},
                      {"base", text_at(base, "ref")},
                      {"id", artifact_of_branch(branch)},
                      {"actor", m.sender}};
    return m;
  }
  return m;
}

} // namespace kb::daemon::github
