// Handlers that change artifacts: create and the lifecycle transitions.
#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/edit.hpp"
#include "core/artifact/writer.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/lifecycle/transition.hpp"
#include "core/repo/git.hpp"
#include "core/repo/store.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"
#include "core/validate/rules.hpp"
#include "core/validate/validator.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kb::api {

using artifact::ArtifactId;
using artifact::YamlNode;

namespace {

// Name and email of an actor `Name (email)`; agents commit as themselves at localhost.
std::pair<std::string, std::string> author_of(const std::string& actor) {
  auto open = actor.rfind(" (");
  if (open != std::string::npos && actor.back() == ')')
    return {actor.substr(0, open), actor.substr(open + 2, actor.size() - open - 3)};
  return {actor, actor + "@localhost"};
}

// `start` works on the branch named by the artifact: made from HEAD or switched to. Switching
// to an existing branch can change the artifact files, so the plan is made again there.
util::Status start_branch(Context& ctx, WriteSession& session,
                          const lifecycle::TransitionRequest& request,
                          util::Result<lifecycle::Plan>& plan, json& branch) {
  auto outcome = repo::switch_to_branch(session.project, request.id.str());
  KB_TRY(outcome);
  branch = {{"name", outcome->branch},     {"in_git", outcome->in_git},
            {"created", outcome->created}, {"switched", outcome->switched},
            {"skipped", outcome->skipped}, {"previous", outcome->previous}};
  if (outcome->switched && !outcome->created) {
    auto reloaded = ctx.projects.open(session.project.root);
    KB_TRY(reloaded);
    session.loaded = std::move(*reloaded);
    plan = lifecycle::plan_transition(session.index(), request);
    KB_TRY(plan);
  }
  return util::ok_status();
}

// Each text in a completion block given with complete (`{result, tags, insights, …}`), by the
// validator's rules: a result is one line, every text says something.
util::Status check_completion_texts(const json& block, const std::string& where) {
  if (block.is_string())
    return check_text(where, block.get_ref<const std::string&>(),
                      where == "the result" ? validate::k_line_rule : validate::k_text_rule);
  if (block.is_array())
    for (size_t i = 0; i < block.size(); ++i)
      KB_TRY(check_completion_texts(block[i], fmt::format("{} {}", where, i + 1)));
  if (block.is_object())
    for (const auto& [key, value] : block.items())
      if (auto st = check_completion_texts(value, where.empty() ? fmt::format("the {}", key)
                                                                : fmt::format("{} {}", where, key));
          !st)
        return st;
  return util::ok_status();
}

util::Result<json> transition(Context& ctx, const json& params, lifecycle::Action action) {
  auto id_text = string_param(params, "id");
  KB_TRY(id_text);
  auto id = ArtifactId::parse_or_error(*id_text);
  KB_TRY(id);
  auto reason = params.contains("reason") && params["reason"].is_string()
                    ? params["reason"].get<std::string>()
                    : std::string();
  if (action == lifecycle::Action::cancel && util::js_trim(reason).empty())
    return util::make_error(
        util::ErrorKind::invalid_argument, fmt::format("cancelling {} needs a reason", id->str()),
        {{"hint", fmt::format("kodebase cancel {} --reason \"why it is not done\"", id->str())}});
  KB_TRY(check_completion_texts(params.value("completion", json(nullptr)), ""));
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  auto actor = resolve_actor(session->project, params);
  KB_TRY(actor);
  lifecycle::TransitionRequest request{action, *id,
                                       *actor, util::format_utc(util::now_seconds()),
                                       reason, params.value("completion", json(nullptr))};
  if (auto cascade = params.find("cascade"); cascade != params.end() && !cascade->is_null()) {
    if (action != lifecycle::Action::cancel || !cascade->is_boolean())
      return util::make_error(util::ErrorKind::invalid_argument,
                              "cascade is for cancel: true to cancel the open dependents too");
    request.cascade = cascade->get<bool>();
  }
  if (auto meta = params.find("metadata"); meta != params.end() && !meta->is_null()) {
    // Only submit records metadata: the pull request under review (never its URL).
    if (action != lifecycle::Action::submit || !meta->is_object() ||
        !meta->value("pr_number", json()).is_number_integer() || (*meta)["pr_number"] <= 0)
      return util::make_error(util::ErrorKind::invalid_argument,
                              "metadata is for submit: {pr_number, pr_branch, pr_head_sha}");
    for (const auto& [key, value] : meta->items())
      if (key != "pr_number" && key != "pr_branch" && key != "pr_head_sha")
        return util::make_error(util::ErrorKind::invalid_argument,
                                fmt::format("unknown metadata field '{}' (pr_number, pr_branch, "
                                            "pr_head_sha)",
                                            key));
    request.metadata = *meta;
  }
  auto plan = lifecycle::plan_transition(session->index(), request);
  KB_TRY(plan);
  bool dry_run = params.value("dry_run", false);
  json branch = nullptr;
  if (action == lifecycle::Action::start && params.value("branch", true)) {
    if (dry_run || plan->noop)
      branch = {{"name", id->str()}, {"current", repo::current_branch(session->project)}};
    else if (auto st = start_branch(ctx, *session, request, plan, branch); !st)
      return st.error();
  }
  json events = planned_events_json(plan->events);
  auto result = commit_files(*session, plan->files, params,
                             {{"id", id->str()},
                              {"action", lifecycle::to_string(action)},
                              {"noop", plan->noop},
                              {"actor", *actor},
                              {"events", events},
                              {"notes", plan->notes},
                              {"branch", branch},
                              {"committed", false}});
  if (!result || dry_run || plan->noop || !params.value("commit", false))
    return result;
  std::vector<std::filesystem::path> paths;
  for (const auto& [path, _] : plan->files)
    paths.push_back(path);
  auto [name, email] = author_of(*actor);
  if (auto st = repo::commit_paths(
          session->project, paths,
          fmt::format("chore(artifacts): {} {}", lifecycle::to_string(action), id->str()), name,
          email);
      !st)
    return st.error();
  (*result)["committed"] = true;
  return result;
}

YamlNode list_node(const std::vector<std::string>& items, bool plain = false) {
  YamlNode n;
  n.kind = YamlNode::Kind::sequence;
  for (const auto& i : items)
    n.items.push_back(artifact::scalar_node(i, plain));
  return n;
}

YamlNode map_node() {
  YamlNode n;
  n.kind = YamlNode::Kind::mapping;
  return n;
}

void put(YamlNode& map, std::string key, YamlNode value) {
  map.entries.push_back({std::move(key), {}, std::move(value)});
}

// The content block for a new artifact; missing required parts get TODO placeholders, which
// are listed in `placeholders` so the caller can tell the user what to fill in.
util::Result<YamlNode> content_for(artifact::ArtifactType type, const json& params,
                                   const std::string& title,
                                   std::vector<std::string>& placeholders) {
  YamlNode content = map_node();
  auto text = [&](const char* key, const char* todo) {
    std::string v = params.value(key, "");
    if (v.empty()) {
      placeholders.push_back(fmt::format("content.{}", key));
      v = todo;
    }
    return artifact::scalar_node(v);
  };
  auto list = [&](const char* param, const char* field,
                  const char* todo) -> util::Result<YamlNode> {
    auto items = list_param(params, param);
    KB_TRY(items);
    if (items->empty()) {
      placeholders.push_back(field);
      items->push_back(todo);
    }
    return list_node(*items);
  };
  using artifact::ArtifactType;
  if (type == ArtifactType::initiative) {
    put(content, "vision", text("vision", "TODO: Add vision statement"));
    auto in = list("scope_in", "content.scope.in", "TODO: Add in-scope items");
    auto out = list("scope_out", "content.scope.out", "TODO: Add out-of-scope items");
    auto success =
        list("success_criteria", "content.success_criteria", "TODO: Add success criteria");
    for (auto* r : {&in, &out, &success})
      if (!*r)
        return r->error();
    YamlNode scope = map_node();
    put(scope, "in", std::move(*in));
    put(scope, "out", std::move(*out));
    put(content, "scope", std::move(scope));
    put(content, "success_criteria", std::move(*success));
    return content;
  }
  // The summary defaults to the title, unless the title is blank to upstream's trim() (a
  // title of spaces is valid, a summary of them is not).
  std::string summary = params.value("summary", "");
  if (summary.empty() && !util::js_trim(title).empty())
    summary = title;
  if (summary.empty()) {
    placeholders.push_back("content.summary");
    summary = "TODO: Add summary";
  }
  put(content, "summary", artifact::scalar_node(summary));
  if (type == ArtifactType::milestone) {
    auto deliverables = list("deliverables", "content.deliverables", "TODO: Add deliverables");
    KB_TRY(deliverables);
    put(content, "deliverables", std::move(*deliverables));
    auto validation = list_param(params, "validation");
    KB_TRY(validation);
    if (!validation->empty())
      put(content, "validation", list_node(*validation));
    return content;
  }
  auto criteria =
      list("acceptance_criteria", "content.acceptance_criteria", "TODO: Add acceptance criteria");
  KB_TRY(criteria);
  put(content, "acceptance_criteria", std::move(*criteria));
  return content;
}

// The text a create request gives, checked by the validator's rules before anything is
// written: a value upstream would reject is the caller's mistake (invalid_argument), not a
// change that fails validation. Empty values are not given (they get placeholders).
util::Status check_create_texts(const json& params) {
  KB_TRY(check_field_text("title", params.value("title", "")));
  for (const char* key : {"summary", "vision"})
    if (auto it = params.find(key);
        it != params.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      KB_TRY(check_field_text(key, it->get_ref<const std::string&>()));
  static constexpr std::pair<const char*, const char*> k_lists[] = {
      {"acceptance_criteria", "acceptance criterion"},
      {"deliverables", "deliverable"},
      {"validation", "validation item"},
      {"scope_in", "in-scope item"},
      {"scope_out", "out-of-scope item"},
      {"success_criteria", "success criterion"},
      {"notes", "note"}};
  for (const auto& [key, item] : k_lists) {
    auto items = list_param(params, key);
    KB_TRY(items);
    for (size_t i = 0; i < items->size(); ++i)
      if (auto st =
              check_text(fmt::format("{} {}", item, i + 1), (*items)[i], validate::k_text_rule);
          !st)
        return st;
  }
  return util::ok_status();
}

constexpr std::array<std::string_view, 15> k_create_fields = {"parent",
                                                              "title",
                                                              "priority",
                                                              "estimation",
                                                              "assignee",
                                                              "summary",
                                                              "acceptance_criteria",
                                                              "deliverables",
                                                              "validation",
                                                              "vision",
                                                              "scope_in",
                                                              "scope_out",
                                                              "success_criteria",
                                                              "blocked_by",
                                                              "notes"};

// The create params with params.body (YAML or JSON text holding the same fields, e.g. from
// --from-file or the editor template) merged under them: fields given directly win. Empty
// values in the body (a blank template line) count as not given, so they get the defaults
// and placeholders a missing flag gets.
util::Result<json> merge_body(const json& params) {
  auto it = params.find("body");
  if (it == params.end() || it->is_null())
    return params;
  if (!it->is_string())
    return util::make_error(util::ErrorKind::invalid_argument, "'body' must be YAML or JSON text");
  auto doc = artifact::parse_yaml(it->get<std::string>());
  if (!doc)
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("the body does not parse at line {}, column {}: {}",
                                        doc.error().details.value("line", 0),
                                        doc.error().details.value("column", 0),
                                        doc.error().message));
  if (!doc->is_mapping())
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("the body is {}; it must be a mapping of fields such as "
                                        "title, priority and acceptance_criteria",
                                        doc->describe()));
  json body = doc->to_json();
  if (auto st = check_known_fields(body, k_create_fields); !st)
    return util::make_error(util::ErrorKind::invalid_argument,
                            "in the body: " + st.error().message);
  json merged = params;
  merged.erase("body");
  for (auto& [key, value] : body.items()) {
    if (value.is_array()) {
      json kept = json::array();
      for (auto& v : value)
        if (!(v.is_string() && v.get<std::string>().empty()) && !v.is_null())
          kept.push_back(v.is_string() ? v : json(v.dump()));
      value = std::move(kept);
    }
    bool empty = value.is_null() || (value.is_string() && value.get<std::string>().empty()) ||
                 (value.is_array() && value.empty());
    if (!empty && !merged.contains(key))
      merged[key] = value.is_string() || value.is_array() ? value : json(value.dump());
  }
  return merged;
}

} // namespace

util::Result<json> next_id_info(Context& ctx, const json& params) {
  std::optional<ArtifactId> parent;
  if (auto it = params.find("parent"); it != params.end() && it->is_string()) {
    auto p = ArtifactId::parse_or_error(it->get<std::string>());
    KB_TRY(p);
    parent = *p;
  }
  auto p = open_project(ctx, params);
  KB_TRY(p);
  auto next = artifact::next_id(parent, (*p)->index.ids());
  return json{{"parent", parent ? parent->str() : std::string()},
              {"next", parent ? next.last_number() : next.initiative_ordinal()}};
}

util::Result<json> artifacts_create(Context& ctx, const json& raw_params) {
  // An ID the daemon reserved through the team's Redis (else the next one of the tree).
  std::optional<ArtifactId> reserved;
  json without_id = raw_params;
  if (auto it = raw_params.find("id"); it != raw_params.end()) {
    auto r = ArtifactId::parse_or_error(it->is_string() ? it->get<std::string>() : "");
    KB_TRY(r);
    reserved = *r;
    without_id.erase("id");
  }
  auto merged = merge_body(without_id);
  KB_TRY(merged);
  const json& params = *merged;
  KB_TRY(check_known_fields(params, k_create_fields));
  std::optional<ArtifactId> parent;
  if (auto it = params.find("parent"); it != params.end() && !it->is_null()) {
    auto p = ArtifactId::parse_or_error(it->is_string() ? it->get<std::string>() : "");
    KB_TRY(p);
    if (p->type() == artifact::ArtifactType::issue)
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("{} is an issue; issues cannot have children", p->str()));
    parent = *p;
  }
  auto title = string_param(params, "title");
  KB_TRY(title);
  KB_TRY(check_create_texts(params));
  auto blocked_by = list_param(params, "blocked_by");
  auto notes = list_param(params, "notes");
  for (auto* r : {&blocked_by, &notes})
    if (!*r)
      return r->error();
  auto session = open_for_write(ctx, params);
  KB_TRY(session);
  const auto& index = session->index();
  const artifact::Artifact* parent_artifact = parent ? index.find(*parent) : nullptr;
  if (parent && !parent_artifact)
    return util::make_error(util::ErrorKind::not_found,
                            fmt::format("parent {} not found", parent->str()),
                            {{"hint", "run `kodebase list` to see the artifact IDs"}});
  if (parent_artifact) {
    auto ps = lifecycle::current_state(*parent_artifact);
    if (ps && lifecycle::is_terminal(*ps))
      return util::make_error(util::ErrorKind::failed,
                              fmt::format("{} is {}; new work cannot go under it", parent->str(),
                                          lifecycle::state_name(*parent_artifact)));
  }
  auto actor = resolve_actor(session->project, params);
  KB_TRY(actor);
  auto id = artifact::next_id(parent, index.ids());
  if (reserved) {
    auto taken = index.ids();
    if (reserved->parent() != parent || reserved->depth() != id.depth())
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("{} is not a child of {}", reserved->str(),
                                          parent ? parent->str() : std::string("the root")));
    if (std::find(taken.begin(), taken.end(), *reserved) != taken.end())
      return util::make_error(util::ErrorKind::conflict,
                              fmt::format("{} is taken in this tree", reserved->str()));
    id = *reserved;
  }
  auto slug = artifact::slugify(*title);
  auto path =
      artifact::path_for_new(session->project.artifacts_dir(), id, slug,
                             parent_artifact ? std::optional(parent_artifact->path) : std::nullopt);
  std::vector<std::string> placeholders;
  auto content = content_for(id.type(), params, *title, placeholders);
  KB_TRY(content);

  YamlNode relationships = map_node();
  put(relationships, "blocks", list_node({}, true));
  put(relationships, "blocked_by", list_node(*blocked_by, true));
  YamlNode draft = map_node();
  put(draft, "event", artifact::scalar_node("draft", true));
  put(draft, "timestamp", artifact::scalar_node(util::format_utc(util::now_seconds())));
  put(draft, "actor", artifact::scalar_node(*actor));
  put(draft, "trigger", artifact::scalar_node("artifact_created", true));
  YamlNode events;
  events.kind = YamlNode::Kind::sequence;
  events.items.push_back(std::move(draft));
  YamlNode meta = map_node();
  put(meta, "title", artifact::scalar_node(*title));
  put(meta, "priority", artifact::scalar_node(params.value("priority", "medium"), true));
  put(meta, "estimation", artifact::scalar_node(params.value("estimation", "S"), true));
  put(meta, "created_by", artifact::scalar_node(*actor));
  put(meta, "assignee", artifact::scalar_node(params.value("assignee", *actor)));
  put(meta, "schema_version", artifact::scalar_node("0.0.1"));
  put(meta, "relationships", std::move(relationships));
  put(meta, "events", std::move(events));
  YamlNode doc = map_node();
  put(doc, "metadata", std::move(meta));
  put(doc, "content", std::move(*content));
  if (!notes->empty())
    put(doc, "notes", list_node(*notes));

  // Both sides of each dependency: the blockers list the new artifact in `blocks`.
  artifact::EditSet edits;
  for (const auto& b : *blocked_by) {
    const artifact::Artifact* blocker = index.find(b);
    if (!blocker)
      return util::make_error(util::ErrorKind::not_found,
                              fmt::format("blocked-by target {} not found", b),
                              {{"hint", "run `kodebase list` to see the artifact IDs"}});
    auto d = edits.doc(blocker->path);
    KB_TRY(d);
    KB_TRY((*d)->add_to_list({"metadata", "relationships", "blocks"}, id.str()));
  }
  auto files = edits.texts();
  files[path] = artifact::write_canonical(doc);
  return commit_files(*session, files, params,
                      {{"id", id.str()},
                       {"type", artifact::to_string(id.type())},
                       {"title", *title},
                       {"state", "draft"},
                       {"parent", parent ? json(parent->str()) : json(nullptr)},
                       {"path", session->project.relative(path)},
                       {"blocked_by", *blocked_by},
                       {"placeholders", placeholders}});
}

util::Result<json> artifacts_ready(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::ready);
}
util::Result<json> artifacts_start(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::start);
}
util::Result<json> artifacts_submit(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::submit);
}
util::Result<json> artifacts_complete(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::complete);
}
util::Result<json> artifacts_cancel(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::cancel);
}
util::Result<json> artifacts_block(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::block);
}
util::Result<json> artifacts_archive(Context& ctx, const json& params) {
  return transition(ctx, params, lifecycle::Action::archive);
}

} // namespace kb::api
