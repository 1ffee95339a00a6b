// Webhook deliveries: signatures, and what a push or a pull_request means for the team.
#include "core/util/remote.hpp"
#include "daemon/github/webhook.hpp"
#include "daemon/server/webhook_door.hpp"

#include <catch2/catch.hpp>

using namespace kb::daemon::github;
using nlohmann::json;

TEST_CASE("webhook signatures match GitHub's example and nothing else", "[webhook]") {
  // GitHub's documented test vector for X-Hub-Signature-256.
  const std::string secret = "It's a Secret to Everybody", body = "Hello, World!";
  const std::string good =
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  CHECK(webhook_signature(secret, body) == good);
  CHECK(webhook_signature_valid(secret, body, good));
  CHECK_FALSE(webhook_signature_valid(secret, body + " ", good));
  CHECK_FALSE(webhook_signature_valid("another secret", body, good));
  CHECK_FALSE(webhook_signature_valid(secret, body, ""));
  CHECK_FALSE(webhook_signature_valid(secret, body, good.substr(7)));          // no sha256= prefix
  CHECK_FALSE(webhook_signature_valid(secret, body, good + "00"));             // too long
  CHECK_FALSE(webhook_signature_valid("", body, webhook_signature("", body))); // no secret
  auto upper = good; // hex in capitals is not GitHub's form
  auto letter = upper.find_first_of("abcdef", 7);
  upper[letter] = static_cast<char>(std::toupper(upper[letter]));
  CHECK_FALSE(webhook_signature_valid(secret, body, upper));
}

TEST_CASE("artifact IDs come from file names and branch names", "[webhook]") {
  CHECK(artifact_id_of_file("A.1.2.login-form.yml") == "A.1.2");
  CHECK(artifact_id_of_file("A.1.yml") == "A.1");
  CHECK(artifact_id_of_file("AB.yml") == "AB");
  CHECK(artifact_id_of_file("A.2.2") == "A.2.2");
  CHECK(artifact_id_of_file("README.yml") == "");
  CHECK(artifact_id_of_file("a.1.yml") == "");
  CHECK(artifact_id_of_file("A1.yml") == "");
  CHECK(artifact_id_of_file("") == "");
}

TEST_CASE("a push gives the net change of each artifact file", "[webhook]") {
  json push = {
      {"ref", "refs/heads/main"},
      {"before", "b"},
      {"after", "a"},
      {"repository", {{"full_name", "Acme/Widgets"}}},
      {"sender", {{"login", "ada"}}},
      {"commits",
       {{{"added", {".kodebase/artifacts/A.x/A.1.y/A.1.1.new.yml", "src/main.cpp"}},
         {"modified", {".kodebase/artifacts/A.x/A.1.y/A.1.2.old.yml"}},
         {"removed", json::array()}},
        {{"added", {".kodebase/artifacts/A.x/A.1.y/A.1.3.brief.yml"}},
         {"modified", {".kodebase/artifacts/A.x/A.1.y/A.1.1.new.yml"}},
         {"removed",
          {".kodebase/artifacts/A.x/A.1.y/A.1.2.old.yml", ".kodebase/artifacts/A.x/notes.txt"}}},
        {{"added", json::array()},
         {"modified", json::array()},
         {"removed", {".kodebase/artifacts/A.x/A.1.y/A.1.3.brief.yml"}}}}}};
  auto m = parse_webhook("push", push.dump());
  REQUIRE(m);
  CHECK(m->repository == "Acme/Widgets");
  CHECK(m->branch == "main");
  CHECK(m->sender == "ada");
  REQUIRE(m->artifacts.size() == 2); // A.1.3 came and went within the push
  CHECK(m->artifacts[0].id == "A.1.1");
  CHECK(m->artifacts[0].change == "created");
  CHECK(m->artifacts[1].id == "A.1.2");
  CHECK(m->artifacts[1].change == "deleted");
}

TEST_CASE("pull requests are relayed for the actions that matter, tied to the branch's artifact",
          "[webhook]") {
  auto pr = [](std::string action, bool merged, std::string head) {
    return json{{"action", action},
                {"repository", {{"full_name", "acme/widgets"}}},
                {"sender", {{"login", "grace"}}},
                {"pull_request",
                 {{"number", 12},
                  {"title", "A.1.2: Login form"},
                  {"merged", merged},
                  {"draft", false},
                  {"head", {{"ref", head}}},
                  {"base", {{"ref", "main"}}}}}}
        .dump();
  };
  auto merged = parse_webhook("pull_request", pr("closed", true, "A.1.2"));
  REQUIRE(merged);
  CHECK(merged->pull_request["merged"] == true);
  CHECK(merged->pull_request["id"] == "A.1.2");
  CHECK(merged->pull_request["number"] == 12);
  // a branch not named by an artifact: relayed without an ID (a body mentioning IDs counts for
  // nothing)
  auto other = parse_webhook("pull_request", pr("closed", true, "feature/A.1.2-and-more"));
  REQUIRE(other);
  CHECK(other->pull_request["id"] == "");
  auto labeled = parse_webhook("pull_request", pr("labeled", false, "A.1.2"));
  REQUIRE(labeled);
  CHECK(labeled->pull_request.is_null());
  CHECK_FALSE(parse_webhook("pull_request", R"({"action":"closed"})"));
  CHECK_FALSE(parse_webhook("pull_request",
                            R"({"action":"closed","repository":{"full_name":"a/b"},)"
                            R"("pull_request":{"number":"12"}})"));
  CHECK_FALSE(parse_webhook("push", "[1,2]"));
  CHECK_FALSE(parse_webhook("push", R"({"ref":"refs/heads/x","repository":{"full_name":"a/b"},)"
                                    R"("commits":[{"added":[5]}]})"));
  auto ping = parse_webhook("ping", R"({"zen":"Design for failure.","hook_id":1})");
  REQUIRE(ping);
  CHECK(ping->zen == "Design for failure.");
}

TEST_CASE("remote URLs name their repository, Enterprise and ssh forms included", "[webhook]") {
  using kb::util::remote_host;
  using kb::util::remote_repository;
  CHECK(remote_repository("https://github.com/Acme/Widgets.git") == "Acme/Widgets");
  CHECK(remote_repository("git@github.com:acme/widgets.git") == "acme/widgets");
  CHECK(remote_repository("ssh://git@ghe.example.com:2222/team/repo") == "team/repo");
  CHECK(remote_repository("https://ghe.example.com/scm/team/repo.git/") == "team/repo");
  CHECK(remote_repository("/srv/git/repo.git") == "");
  CHECK(remote_host("git@github.com:acme/widgets.git") == "github.com");
  CHECK(remote_host("https://user:pw@ghe.example.com:8443/a/b") == "ghe.example.com");
  CHECK(remote_host("/srv/git/repo.git") == "");
}

TEST_CASE("listen addresses are a port or an IP and a port", "[webhook]") {
  using kb::daemon::server::parse_listen_address;
  auto port = parse_listen_address("8787");
  REQUIRE(port);
  CHECK(port->address().to_string() == "127.0.0.1");
  CHECK(port->port() == 8787);
  auto any = parse_listen_address("0.0.0.0:9000");
  REQUIRE(any);
  CHECK(any->address().to_string() == "0.0.0.0");
  CHECK(parse_listen_address("[::1]:9000"));
  CHECK_FALSE(parse_listen_address("example.com:80"));
  CHECK_FALSE(parse_listen_address("127.0.0.1:"));
  CHECK_FALSE(parse_listen_address("127.0.0.1:99999"));
}
