#include "daemon/server/pull_requests.hpp"

#include "core/api/methods.hpp"
#include "core/util/json.hpp"

#include <fmt/format.h>

#include <memory>

namespace kb::daemon::server {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The automation's actor on events a merge caused.
constexpr const char* k_merge_actor = "agent.cascade@github";

json body_of(const github::ProxyReply& reply) {
  return util::parse_json_bounded(reply.body, util::k_document_limits);
}

// What GitHub said when it refused `what`, as an error a user can act on.
util::Error github_error(const github::ProxyReply& reply, const std::string& what) {
  auto body = body_of(reply);
  std::string message = body.is_object() ? body.value("message", "") : "";
  if (body.is_object() && body.contains("errors") && body["errors"].is_array())
    for (const auto& e : body["errors"])
      if (e.is_object() && e.contains("message") && e["message"].is_string())
        message += (message.empty() ? "" : ": ") + e["message"].get<std::string>();
  std::string hint;
  if (reply.status == 401)
    hint = "GitHub wants a token: set GH_TOKEN, or run `gh auth login`";
  else if (reply.status == 403 || reply.status == 429)
    hint = "see `kodebase github status` for the quota; try again later";
  else if (reply.status == 404)
    hint = "check that the token may see the repository (scope `repo` for private ones)";
  json details{{"status", reply.status}};
  if (!hint.empty())
    details["hint"] = hint;
  return util::make_error(util::ErrorKind::failed,
                          fmt::format("GitHub refused to {} (HTTP {}{}{})", what, reply.status,
                                      message.empty() ? "" : ": ", message),
                          details);
}

bool ok(const github::ProxyReply& reply) {
  return reply.status >= 200 && reply.status < 300;
}

// The short view of a pull request the CLI prints and scripts read (no token, no body).
json summary_of(const json& pr) {
  auto head = pr.value("head", json::object());
  auto base = pr.value("base", json::object());
  bool merged = pr.value("merged", false) || !pr.value("merged_at", json()).is_null();
  return {{"number", pr.value("number", 0)},
          {"title", pr.value("title", "")},
          {"url", pr.value("html_url", "")},
          {"state", merged ? "merged" : pr.value("state", "")},
          {"draft", pr.value("draft", false)},
          {"head", head.value("ref", "")},
          {"head_sha", head.value("sha", "")},
          {"base", base.value("ref", "")},
          {"mergeable_state", pr.value("mergeable_state", "")}};
}

std::string owner_of(const std::string& repository) {
  return repository.substr(0, repository.find('/'));
}

} // namespace

void PullRequests::call(const std::string& method, const std::string& target, const json& body,
                        const json& params, Reply then) {
  github::ProxyRequest r;
  r.method = method;
  r.target = target;
  r.headers = {{"Accept", "application/vnd.github+json"}, {"X-GitHub-Api-Version", "2022-11-28"}};
  if (!body.is_null()) {
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = body.dump();
  }
  r.token = params.value("token", "");
  r.background = params.value("background", false);
  m_proxy.handle(std::move(r), std::move(then));
}

void PullRequests::find(const std::string& repository, const std::string& branch, bool all,
                        const json& params, Finish done) {
  auto target = fmt::format("/repos/{}/pulls?head={}:{}&state={}&per_page=10", repository,
                            owner_of(repository), branch, all ? "all" : "open");
  call("GET", target, nullptr, params, [done, branch](github::ProxyReply reply) {
    if (!ok(reply))
      return done(github_error(reply, "list the pull requests of " + branch));
    auto list = body_of(reply);
    if (!list.is_array())
      return done(util::make_error(util::ErrorKind::failed,
                                   "GitHub's list of pull requests is not a JSON array"));
    for (const auto& pr : list) // newest first; the head must be the branch itself
      if (pr.is_object() && pr.value("head", json::object()).value("ref", "") == branch)
        return done(pr);
    done(json(nullptr));
  });
}

void PullRequests::pull_of(const std::string& repository, const std::string& id,
                           const json& recorded, const std::string& branch, const json& params,
                           Finish done) {
  if (!recorded.is_object())
    return find(repository, branch, true, params, std::move(done));
  call("GET", fmt::format("/repos/{}/pulls/{}", repository, recorded["pr_number"].get<long long>()),
       nullptr, params, [done, id](github::ProxyReply reply) {
         if (!ok(reply))
           return done(github_error(reply, "read the pull request of " + id));
         done(body_of(reply));
       });
}

void PullRequests::push(const json& facts, const std::string& branch, Finish done) {
  m_lane(
      facts.value("root", ""),
      [this, root = facts.value("root", ""), branch] {
        return api::push_branch(m_ctx, {{"directory", root}, {"branch", branch}});
      },
      std::move(done));
}

void PullRequests::plan(const fs::path& root, const json& params, Finish done) {
  json asked{{"directory", root.string()}, {"context", true}};
  if (params.contains("id"))
    asked["id"] = params["id"];
  m_lane(
      root, [this, asked] { return api::pull_request_facts(m_ctx, asked); },
      [this, params, done](JsonResult facts) {
        if (!facts)
          return done(facts);
        auto mode = facts->value("mode", "auto");
        auto off = [&](const std::string& why) {
          (*facts)["on"] = false;
          (*facts)["why"] = why;
          done(std::move(*facts));
        };
        if (mode == "off")
          return off("github.pull_requests is off");
        if (facts->value("repository", "").empty()) {
          if (mode == "auto")
            return off("the origin remote names no GitHub repository");
          return done(util::make_error(
              util::ErrorKind::failed,
              fmt::format("github.pull_requests is {}, but the origin remote ({}) names no "
                          "GitHub repository",
                          mode, facts->value("remote", "none")),
              {{"hint", "git remote add origin https://github.com/OWNER/NAME.git, or `kodebase "
                        "config set github.pull_requests off`"}}));
        }
        m_proxy.has_credentials(
            params.value("token", ""), [facts = std::move(*facts), mode, done](bool token) {
              json f = facts;
              if (!token && mode == "auto") {
                f["on"] = false;
                f["why"] = "no GitHub token (set GH_TOKEN or run `gh auth login`)";
                return done(f);
              }
              if (!token)
                return done(util::make_error(
                    util::ErrorKind::failed,
                    fmt::format("github.pull_requests is {}, but there is no GitHub token", mode),
                    {{"hint", "set GH_TOKEN, or run `gh auth login`"}}));
              f["on"] = true;
              done(f);
            });
      });
}

void PullRequests::after_start(const json& facts, const json& params, Finish done) {
  auto id = facts.value("id", "");
  auto repository = facts.value("repository", "");
  auto failed = [done](const util::Error& e) {
    json out{{"error", e.message}};
    for (const auto& key : {"hint", "output"})
      if (e.details.contains(key))
        out[key] = e.details[key];
    done(out);
  };
  push(facts, id, [=, this](JsonResult pushed) {
    if (!pushed)
      return failed(pushed.error());
    find(repository, id, false, params, [=, this](JsonResult found) {
      if (!found)
        return failed(found.error());
      if (!found->is_null()) {
        json out = summary_of(*found);
        out["created"] = false;
        return done(out);
      }
      json body{{"title", fmt::format("{}: {}", id, facts.value("title", ""))},
                {"head", id},
                {"base", facts.value("default_branch", "main")},
                {"body", facts.value("context", "") +
                             fmt::format("\n---\n*Opened by kodebase for artifact {}.*\n", id)},
                {"draft", facts.value("mode", "auto") != "ready"}};
      call("POST", fmt::format("/repos/{}/pulls", repository), body, params,
           [=](github::ProxyReply reply) {
             if (!ok(reply))
               return failed(github_error(reply, "open a pull request for " + id));
             json out = summary_of(body_of(reply));
             out["created"] = true;
             done(out);
           });
    });
  });
}

void PullRequests::submit(const json& facts, const json& params, Finish done) {
  auto id = facts.value("id", "");
  auto repository = facts.value("repository", "");
  auto root = facts.value("root", "");
  if (facts.value("state", "") != "in_progress") // the plain submit says why not
    return m_lane(
        root, [this, params] { return api::artifacts_submit(m_ctx, params); }, std::move(done));
  if (facts.value("branch", "") != id)
    return done(util::make_error(
        util::ErrorKind::failed,
        fmt::format("submit {} from its branch: the in_review event travels with the pull "
                    "request (you are on {})",
                    id, facts.value("branch", "").empty() ? "a detached HEAD" : facts["branch"]),
        {{"hint", fmt::format("git switch {}", id)}}));
  if (!facts["dirty"].empty()) {
    std::string files;
    for (const auto& f : facts["dirty"])
      files += (files.empty() ? "" : ", ") + f.get<std::string>();
    return done(util::make_error(
        util::ErrorKind::failed,
        fmt::format("cannot submit {}: artifact files have uncommitted changes ({})", id, files),
        {{"hint", "commit them (git commit), then submit again"}}));
  }
  find(repository, id, false, params, [=, this](JsonResult found) {
    if (!found)
      return done(found);
    if (found->is_null())
      return done(util::make_error(
          util::ErrorKind::failed,
          fmt::format("cannot submit {}: {} has no open pull request from branch {}", id,
                      repository, id),
          {{"hint", fmt::format("`kodebase start {}` opens one (github.pull_requests: draft), or "
                                "`gh pr create --head {}`",
                                id, id)}}));
    auto pr = std::make_shared<json>(summary_of(*found));
    auto record = [=, this](bool readied) {
      json asked = params;
      asked["commit"] = true;
      asked["metadata"] = {{"pr_number", (*pr)["number"]},
                           {"pr_branch", id},
                           {"pr_head_sha", facts.value("head", "")}};
      m_lane(
          root,
          [this, root, asked] {
            m_note(root, "kodebase submit");
            return api::artifacts_submit(m_ctx, asked);
          },
          [=, this](JsonResult submitted) {
            if (!submitted)
              return done(submitted);
            (*pr)["draft"] = false;
            (*pr)["readied"] = readied;
            // GitHub's merge button does not run the driver: merge the default branch in
            // first when only artifact files would conflict.
            m_lane(
                root,
                [this, root] {
                  return api::keep_mergeable(m_ctx, {{"directory", root}});
                },
                [=, this](JsonResult mergeable) {
                  (*pr)["base_merge"] =
                      mergeable ? *mergeable : json{{"error", mergeable.error().message}};
                  push(facts, id, [=](JsonResult pushed) {
                    json out = *submitted;
                    out["pull_request"] = *pr;
                    if (!pushed) {
                      out["pull_request"]["push_error"] = pushed.error().message;
                      if (pushed.error().details.contains("output"))
                        out["pull_request"]["output"] = pushed.error().details["output"];
                    }
                    done(out);
                  });
                });
          });
    };
    if (!(*pr)["draft"].get<bool>())
      return record(false);
    json mutation{{"query", "mutation($id: ID!) { markPullRequestReadyForReview(input: "
                            "{pullRequestId: $id}) { pullRequest { isDraft } } }"},
                  {"variables", {{"id", found->value("node_id", "")}}}};
    call("POST", "/graphql", mutation, params, [=](github::ProxyReply reply) {
      auto answer = body_of(reply);
      if (!ok(reply))
        return done(
            github_error(reply, fmt::format("mark #{} ready for review", pr->at("number"))));
      if (answer.is_object() && answer.contains("errors") && answer["errors"].is_array() &&
          !answer["errors"].empty())
        return done(util::make_error(
            util::ErrorKind::failed,
            fmt::format("GitHub refused to mark #{} ready for review: {}", pr->at("number"),
                        answer["errors"][0].value("message", "unknown error"))));
      record(true);
    });
  });
}

// A sync in named steps: next takes the next in-review artifact (or finishes), judge looks at
// its pull request, and an open one is kept mergeable, a merged one completed. Each step ends
// by calling next; the run keeps itself alive through the callbacks it hands out.
struct PullRequests::SyncRun : std::enable_shared_from_this<SyncRun> {
  PullRequests& pulls;
  fs::path root;
  json params;
  std::string repository;
  std::vector<json> todo;
  size_t at = 0;
  Finish done;
  json out{{"checked", 0},
           {"completed", json::array()},
           {"open", json::array()},
           {"closed", json::array()},
           {"errors", json::array()}};

  SyncRun(PullRequests& p, fs::path r, json ps, Finish d)
      : pulls(p), root(std::move(r)), params(std::move(ps)), done(std::move(d)) {}

  bool background() const { return params.value("background", false); }

  void next() {
    if (at >= todo.size())
      return done(std::move(out));
    const json item = todo[at++];
    auto id = item.value("id", "");
    auto recorded = item.value("recorded", json());
    auto branch = recorded.is_object() ? recorded.value("pr_branch", id) : id;
    out["checked"] = out["checked"].get<int>() + 1;
    pulls.pull_of(repository, id, recorded, branch, params,
                  [self = shared_from_this(), id, branch](JsonResult pr) {
                    self->judge(id, branch, std::move(pr));
                  });
  }

  void judge(const std::string& id, const std::string& branch, JsonResult pr) {
    if (!pr) {
      out["errors"].push_back({{"id", id}, {"error", pr.error().message}});
      return next();
    }
    if (pr->is_null()) {
      out["open"].push_back({{"id", id}, {"note", "no pull request"}});
      return next();
    }
    auto s = summary_of(*pr);
    bool own = s["head"] == id || s["head"] == branch;
    if (s["state"] == "open" && !background() && own)
      return keep_mergeable(id, s);
    if (s["state"] != "merged" || !own) {
      out[s["state"] == "closed" ? "closed" : "open"].push_back({{"id", id}, {"pull_request", s}});
      return next();
    }
    complete(id, s);
  }

  // Still open: kept mergeable with the button, as submit does (the background check never
  // touches the work tree).
  void keep_mergeable(const std::string& id, const json& s) {
    auto head = s["head"].get<std::string>();
    pulls.m_lane(
        root,
        [self = shared_from_this(), head] {
          return api::keep_mergeable(self->pulls.m_ctx,
                                     {{"directory", self->root.string()}, {"branch", head}});
        },
        [self = shared_from_this(), id, s, head](JsonResult mergeable) {
          json entry{{"id", id}, {"pull_request", s}};
          entry["base_merge"] = mergeable ? *mergeable : json{{"error", mergeable.error().message}};
          if (!mergeable || !mergeable->value("merged", false)) {
            self->out["open"].push_back(entry);
            return self->next();
          }
          self->pulls.push(json{{"root", self->root.string()}}, head,
                           [self, entry](JsonResult pushed) mutable {
                             if (!pushed)
                               entry["base_merge"]["push_error"] = pushed.error().message;
                             self->out["open"].push_back(entry);
                             self->next();
                           });
        });
  }

  // Merged from its own branch: completed (trigger pr_merged), once.
  void complete(const std::string& id, const json& s) {
    json asked{{"directory", root.string()},
               {"id", id},
               {"number", s["number"]},
               {"title", s["title"]},
               {"actor", k_merge_actor}};
    pulls.m_lane(
        root,
        [self = shared_from_this(), asked] {
          self->pulls.m_note(self->root,
                             fmt::format("pull request #{} merged", asked.value("number", 0)));
          return api::complete_merged(self->pulls.m_ctx, asked);
        },
        [self = shared_from_this(), id, s](JsonResult completed) {
          if (!completed)
            self->out["errors"].push_back({{"id", id}, {"error", completed.error().message}});
          else if ((*completed)["completed"].get<bool>())
            self->out["completed"].push_back(
                {{"id", id}, {"pull_request", s}, {"result", *completed}});
          self->next();
        });
  }
};

void PullRequests::sync(const fs::path& root, const json& params, Finish done) {
  m_lane(
      root,
      [this, root] {
        return api::artifacts_in_review(m_ctx, {{"directory", root.string()}});
      },
      [this, root, params, done](JsonResult review) {
        if (!review)
          return done(review);
        auto run = std::make_shared<SyncRun>(*this, root, params, done);
        run->repository = review->value("repository", "");
        run->out["repository"] = run->repository;
        if (run->repository.empty()) {
          run->out["note"] = "the origin remote names no GitHub repository";
          return done(run->out);
        }
        if (run->background() && review->value("mode", "") == "off") {
          run->out["note"] = "github.pull_requests is off";
          return done(run->out);
        }
        auto only = params.value("ids", json::array());
        for (const auto& a : (*review)["artifacts"])
          if (only.empty() || std::find(only.begin(), only.end(), a["id"]) != only.end())
            run->todo.push_back(a);
        run->next();
      });
}

void PullRequests::show(const fs::path& root, const json& params, Finish done) {
  json asked{{"directory", root.string()}, {"id", params.value("id", "")}};
  m_lane(
      root, [this, asked] { return api::pull_request_facts(m_ctx, asked); },
      [this, params, done](JsonResult facts) {
        if (!facts)
          return done(facts);
        auto repository = facts->value("repository", "");
        auto id = facts->value("id", "");
        json out{
            {"artifact", {{"id", id}, {"title", (*facts)["title"]}, {"state", (*facts)["state"]}}},
            {"repository", repository},
            {"pull_request", nullptr}};
        if (repository.empty())
          return done(util::make_error(
              util::ErrorKind::failed,
              fmt::format("the origin remote ({}) names no GitHub repository",
                          facts->value("remote", "none")),
              {{"hint", "git remote add origin https://github.com/OWNER/NAME.git"}}));
        auto detail = [=, this](JsonResult pr) {
          if (!pr)
            return done(pr);
          if (pr->is_null()) {
            json none = out;
            none["note"] = fmt::format("no pull request from branch {} in {}", id, repository);
            return done(none);
          }
          auto result = std::make_shared<json>(out);
          (*result)["pull_request"] = summary_of(*pr);
          auto number = (*result)["pull_request"]["number"].get<long long>();
          auto sha = (*result)["pull_request"]["head_sha"].get<std::string>();
          // Checks and reviews: three reads at once, answered when all are in.
          auto left = std::make_shared<int>(3);
          auto settle = [=] {
            if (--*left == 0)
              done(*result);
          };
          call("GET", fmt::format("/repos/{}/commits/{}/check-runs?per_page=100", repository, sha),
               nullptr, params, [=](github::ProxyReply reply) {
                 json checks = json::array();
                 auto runs = body_of(reply);
                 if (ok(reply) && runs.is_object() && runs["check_runs"].is_array())
                   for (const auto& run : runs["check_runs"])
                     checks.push_back({{"name", run.value("name", "")},
                                       {"status", run.value("status", "")},
                                       {"conclusion", run.value("conclusion", json())}});
                 (*result)["checks"] = checks;
                 settle();
               });
          call("GET", fmt::format("/repos/{}/commits/{}/status", repository, sha), nullptr, params,
               [=](github::ProxyReply reply) {
                 auto status = body_of(reply);
                 (*result)["status"] = ok(reply) && status.is_object()
                                           ? json{{"state", status.value("state", "")},
                                                  {"total", status.value("total_count", 0)}}
                                           : json(nullptr);
                 settle();
               });
          call("GET", fmt::format("/repos/{}/pulls/{}/reviews?per_page=100", repository, number),
               nullptr, params, [=](github::ProxyReply reply) {
                 // Each reviewer's latest verdict (comments alone do not change it).
                 std::map<std::string, std::string> latest;
                 auto list = body_of(reply);
                 if (ok(reply) && list.is_array())
                   for (const auto& r : list) {
                     auto verdict = r.value("state", "");
                     auto who = r.value("user", json::object()).value("login", "");
                     if (!who.empty() && verdict != "COMMENTED" && verdict != "PENDING")
                       latest[who] = verdict;
                   }
                 json reviews = json::array();
                 std::string decision = latest.empty() ? "review_required" : "approved";
                 for (const auto& [who, verdict] : latest) {
                   reviews.push_back({{"login", who}, {"state", verdict}});
                   if (verdict == "CHANGES_REQUESTED")
                     decision = "changes_requested";
                 }
                 (*result)["reviews"] = reviews;
                 (*result)["review_decision"] = decision;
                 settle();
               });
        };
        auto recorded = facts->value("recorded", json());
        pull_of(repository, id, recorded, id, params, detail);
      });
}

} // namespace kb::daemon::server
