// `add` and the lifecycle commands: `ready`, `block`, `start`, `submit`, `complete`, `cancel`,
// `archive`.
#include "cli/commands/team.hpp"
#include "cli/editor.hpp"
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"
#include "core/util/json.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <unistd.h>

namespace kb::cli {

namespace method = protocol::method;

namespace {

util::Result<json> read_json_file(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in)
      return util::make_error(util::ErrorKind::invalid_argument,
                              fmt::format("cannot read {}", file));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto j = util::parse_json_bounded(text);
  if (j.is_discarded() || !j.is_object())
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("{} is not a JSON object", file == "-" ? "stdin" : file));
  return j;
}

// The pull request a start opened or found, or a submit marked ready; a failure goes to
// stderr as a warning (the transition itself is done).
std::string pull_request_lines(const Session& s, const json& r) {
  auto pr = r.value("pull_request", json());
  if (!pr.is_object() || pr.contains("skipped"))
    return "";
  const auto& st = s.style();
  if (pr.contains("error")) {
    std::fprintf(stderr, "kodebase: warning: no pull request: %s\n", pr.value("error", "").c_str());
    if (!pr.value("output", "").empty())
      std::fprintf(stderr, "%s\n", pr.value("output", "").c_str());
    if (!pr.value("hint", "").empty())
      std::fprintf(stderr, "hint: %s\n", pr.value("hint", "").c_str());
    return "";
  }
  std::string what =
      pr.contains("readied")
          ? (pr.value("readied", false) ? "marked ready for review" : "ready for review")
      : pr.value("created", false) ? "opened"
                                   : "already open";
  std::string text =
      fmt::format("pull request #{} {}{}: {}\n", pr.value("number", 0),
                  pr.value("draft", false) ? "(draft) " : "", what, pr.value("url", ""));
  if (pr.contains("base_merge"))
    text += base_merge_lines(pr["base_merge"]);
  if (pr.contains("push_error"))
    std::fprintf(stderr, "kodebase: warning: %s; push the branch yourself\n",
                 pr.value("push_error", "").c_str());
  return st.dim(text);
}

int render_transition(Session& s, const json& r) {
  if (s.globals.json) {
    s.print_json(r);
    return k_exit_ok;
  }
  const auto& st = s.style();
  bool dry = r.value("dry_run", false);
  std::string text;
  if (r.value("noop", false)) {
    for (const auto& n : r["notes"])
      text += n.get<std::string>() + "; nothing to do\n";
    const auto& branch = r["branch"];
    if (branch.is_object() && !branch.value("current", "").empty() &&
        branch.value("current", "") != branch.value("name", ""))
      text += st.dim(fmt::format("you are on {}; `git switch {}` to work on it\n",
                                 branch.value("current", ""), branch.value("name", "")));
    print(text + pull_request_lines(s, r));
    return k_exit_ok;
  }
  for (const auto& e : r["events"]) {
    std::string line = fmt::format("{}: {} → {}", st.bold(e.value("id", "")),
                                   st.state(e.value("from", "")), st.state(e.value("to", "")));
    if (e.value("cascade", false))
      line = "  cascade " + line;
    if (!e.value("note", "").empty())
      line += st.dim(" (" + e.value("note", "") + ")");
    text += line + "\n";
  }
  for (const auto& n : r["notes"])
    text += "  " + st.dim(n.get<std::string>()) + "\n";
  const auto& branch = r["branch"];
  if (branch.is_object() && branch.value("in_git", false)) {
    if (branch.value("created", false))
      text += st.dim(fmt::format("created branch {} from {}\n", branch.value("name", ""),
                                 branch.value("previous", "HEAD")));
    else if (branch.value("switched", false))
      text += st.dim(fmt::format("switched to branch {}\n", branch.value("name", "")));
    else if (!branch.value("skipped", "").empty())
      text += st.dim(fmt::format("no branch: {}\n", branch.value("skipped", "")));
  }
  if (r.value("committed", false))
    text += st.dim("committed\n");
  if (auto claim = r.value("claim", json()); claim.is_object()) {
    if (claim.contains("error"))
      text += st.yellow(claim.value("error", "")) + "\n";
    else
      text += st.dim("claimed for the team: " + claim_line(s, claim)) + "\n";
  }
  text += pull_request_lines(s, r);
  size_t files = r["files"].size();
  text += dry ? st.yellow(fmt::format("dry run: {} file{} would change, nothing written", files,
                                      files == 1 ? "" : "s"))
              : st.dim(fmt::format("{} file{} written", files, files == 1 ? "" : "s"));
  print(text + "\n");
  return k_exit_ok;
}

struct TransitionOptions {
  std::string id, reason, from_file, result, outcome, next;
  std::vector<std::string> tags, insights, delivered, benefits;
  bool dry_run = false, no_branch = false, commit = false, force = false, cascade = false;
};

// The completion block from the flags (or --from-file), shaped for the artifact's type.
util::Result<json> completion_from(const TransitionOptions& o) {
  if (!o.from_file.empty())
    return read_json_file(o.from_file);
  json block = json::object();
  auto dots = std::count(o.id.begin(), o.id.end(), '.');
  if (dots == 2) {
    if (!o.result.empty())
      block["result"] = o.result;
    if (!o.tags.empty())
      block["tags"] = o.tags;
    if (!o.insights.empty())
      block["insights"] = o.insights;
  } else {
    if (!o.outcome.empty())
      block["outcome"] = o.outcome;
    if (dots == 1 && !o.delivered.empty())
      block["delivered"] = o.delivered;
    if (dots == 0 && !o.benefits.empty())
      block["benefits"] = o.benefits;
    if (!o.next.empty())
      block["next"] = o.next;
  }
  return block;
}

int run_transition(Session& s, std::string_view m, const TransitionOptions& o) {
  json params = {{"id", o.id}, {"dry_run", o.dry_run}, {"commit", o.commit}};
  if (m == method::artifacts_start) {
    params["branch"] = !o.no_branch;
    if (o.force)
      params["force"] = true;
  }
  if (m == method::artifacts_start || m == method::artifacts_submit)
    with_token(params); // the pull request is opened or marked ready with it
  if (!o.reason.empty())
    params["reason"] = o.reason;
  if (o.cascade)
    params["cascade"] = true;
  if (m == method::artifacts_complete) {
    auto block = completion_from(o);
    if (!block)
      return s.fail(block.error());
    if (!block->empty())
      params["completion"] = *block;
  }
  auto r = s.call(m, params);
  if (!r)
    return s.fail(r.error());
  return render_transition(s, *r);
}

struct AddOptions {
  std::string parent, title, priority, estimation, assignee, summary, vision, from_file;
  std::vector<std::string> criteria, deliverables, validation, scope_in, scope_out, success,
      blocked_by, notes;
  bool dry_run = false, edit = false;
};

util::Result<std::string> read_text_file(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
    return text;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return util::make_error(util::ErrorKind::invalid_argument, fmt::format("cannot read {}", file));
  text.assign(std::istreambuf_iterator<char>(in), {});
  return text;
}

// The editor template for a new artifact under `parent`: the fields of its type, commented.
std::string add_template(const std::string& parent) {
  auto dots = parent.empty() ? -1 : std::count(parent.begin(), parent.end(), '.');
  const char* type = dots < 0 ? "initiative" : dots == 0 ? "milestone" : "issue";
  std::string t = fmt::format(
      "# A new {}{}. Fill in the fields, save and close the editor to create it.\n"
      "# Lines starting with '#' are ignored; empty fields get defaults or TODO placeholders.\n"
      "# Saving the template unchanged aborts.\n"
      "title: \"\"\n"
      "priority: medium   # low | medium | high | critical\n"
      "estimation: S      # XS | S | M | L | XL\n",
      type, parent.empty() ? "" : " under " + parent);
  if (dots < 0)
    return t + "vision: \"\"\nscope_in:\n  - \"\"\nscope_out:\n  - \"\"\n"
               "success_criteria:\n  - \"\"\nnotes: []\n";
  t += "summary: \"\"\n";
  if (dots == 0)
    return t + "deliverables:\n  - \"\"\nvalidation: []\nblocked_by: []   # sibling milestones "
               "this waits on\nnotes: []\n";
  return t + "acceptance_criteria:\n  - \"\"\nblocked_by: []   # sibling issues this waits on\n"
             "notes: []\n";
}

int run_add(Session& s, const AddOptions& o) {
  json params = json::object();
  std::optional<EditedText> edited;
  if (!o.from_file.empty()) {
    auto body = read_text_file(o.from_file);
    if (!body)
      return s.fail(body.error());
    params["body"] = *body;
  } else if (o.edit || (o.title.empty() && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO))) {
    auto text = edit_text(add_template(o.parent), ".yml");
    if (!text)
      return s.fail(text.error());
    params["body"] = text->text;
    edited = std::move(*text);
  }
  auto set = [&](const char* key, const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
      if (!value.empty())
        params[key] = value;
    } else if (!value.empty()) {
      params[key] = value;
    }
  };
  set("parent", o.parent);
  set("title", o.title);
  set("assignee", o.assignee);
  set("summary", o.summary);
  set("vision", o.vision);
  set("acceptance_criteria", o.criteria);
  set("deliverables", o.deliverables);
  set("validation", o.validation);
  set("scope_in", o.scope_in);
  set("scope_out", o.scope_out);
  set("success_criteria", o.success);
  set("blocked_by", o.blocked_by);
  set("notes", o.notes);
  set("priority", o.priority);
  set("estimation", o.estimation);
  params["dry_run"] = o.dry_run;
  if (!params.contains("title") && !params.contains("body"))
    return s.fail(util::make_error(
        util::ErrorKind::invalid_argument, "a title is required",
        {{"hint", "pass --title \"...\", a title in --from-file, or --edit for a template"}}));
  auto r = s.call(method::artifacts_create, params);
  std::error_code ec;
  if (!r && edited) {
    std::fprintf(stderr, "kodebase: your text is kept in %s\n", edited->file.c_str());
    auto error = r.error();
    error.details["hint"] = fmt::format("fix it and run `kodebase add {} --from-file {}`", o.parent,
                                        edited->file.string());
    return s.fail(error);
  }
  if (edited)
    std::filesystem::remove(edited->file, ec);
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  print(r->value("id", "") + "\n");
  if (!s.globals.quiet) {
    std::fprintf(stderr, "kodebase: %s %s %s at %s\n",
                 r->value("dry_run", false) ? "would create" : "created",
                 r->value("type", "").c_str(), r->value("id", "").c_str(),
                 r->value("path", "").c_str());
    if (!(*r)["placeholders"].empty()) {
      std::string fields;
      for (const auto& f : (*r)["placeholders"])
        fields += (fields.empty() ? "" : ", ") + f.get<std::string>();
      std::fprintf(stderr, "hint: fill in %s (TODO placeholders), then `kodebase ready %s`\n",
                   fields.c_str(), r->value("id", "").c_str());
    }
  }
  return k_exit_ok;
}

CLI::App* transition_command(CLI::App& app, CommandRegistry& registry, const char* name,
                             const char* help, std::string_view m) {
  auto o = std::make_shared<TransitionOptions>();
  auto* sub = app.add_subcommand(name, help);
  sub->add_option("id", o->id, "Artifact ID")->required();
  sub->add_flag("--dry-run", o->dry_run, "Show what would change without writing");
  registry.add(sub, [o, m](Session& s) { return run_transition(s, m, *o); });
  sub->add_flag("--commit", o->commit, "Commit the artifact change (chore(artifacts): ...)");
  if (m == method::artifacts_start) {
    sub->add_flag("--no-branch", o->no_branch,
                  "Stay on the current branch instead of the one named by the ID");
    sub->add_flag("--force", o->force,
                  "Start it even though a teammate has claimed it (the claim passes to you)");
    sub->footer("With a team connected (`kodebase team connect`), the artifact is claimed for\n"
                "you first; one claimed by someone else is refused, saying who holds it and\n"
                "until when.\n"
                "With pull requests on (github.pull_requests: auto, draft or ready; auto = draft\n"
                "when origin is on GitHub and a token is at hand), the start is committed, the\n"
                "branch pushed and a draft pull request `<id>: <title>` opened with the context\n"
                "pack as its body (an open one for the branch is reused).");
  }
  if (m == method::artifacts_submit)
    sub->footer("With pull requests on, submit runs on the artifact's branch with its artifact\n"
                "files committed: the pull request is marked ready for review, the in_review\n"
                "event records pr_number, pr_branch and pr_head_sha, and the branch is pushed.\n"
                "GitHub's merge button merges lines, not artifacts: when origin's default\n"
                "branch changed the same artifact files (a sibling's cascade), submit merges it\n"
                "in first with the merge driver, so the pull request stays mergeable.");
  if (m == method::artifacts_cancel || m == method::artifacts_archive)
    sub->add_option("--reason", o->reason,
                    m == method::artifacts_cancel
                        ? "Why it is not done (required; recorded in the event)"
                        : "Why (recorded in the event)");
  if (m == method::artifacts_cancel) {
    sub->add_flag("--cascade", o->cascade,
                  "Cancel the open artifacts that depend on it too (and theirs)");
    sub->footer(
        "A cancelled blocker counts as done: a dependent blocked only by it becomes ready,\n"
        "and the impact report says so for each one. With --cascade the dependents that\n"
        "are still open are cancelled with it instead, each event naming why.\n"
        "Children keep their state; a parent with completed children is not cancelled.");
  }
  if (m == method::artifacts_complete) {
    sub->add_option("--result", o->result, "Issue: what was done, in one line");
    sub->add_option("--tag", o->tags, "Issue: a kebab-case tag (repeatable)");
    sub->add_option("--insight", o->insights, "Issue: something learned (repeatable)");
    sub->add_option("--outcome", o->outcome, "Milestone or initiative: the outcome");
    sub->add_option("--delivered", o->delivered, "Milestone: something delivered (repeatable)");
    sub->add_option("--benefit", o->benefits, "Initiative: a benefit (repeatable)");
    sub->add_option("--next", o->next, "Milestone or initiative: what comes next");
    sub->add_option("--from-file", o->from_file, "The completion block as JSON (FILE or -)");
  }
  return sub;
}

} // namespace

void register_lifecycle_commands(CLI::App& app, CommandRegistry& registry) {
  auto o = std::make_shared<AddOptions>();
  auto* add = app.add_subcommand("add", "Create an initiative, milestone or issue");
  add->alias("create");
  add->add_option("parent", o->parent,
                  "Parent ID: none for an initiative, A for a milestone, A.1 "
                  "for an issue");
  add->add_option("--title", o->title, "Title, 3 to 100 characters");
  add->add_option("--priority", o->priority, "Priority (default: medium)")
      ->check(CLI::IsMember({"low", "medium", "high", "critical"}));
  add->add_option("--estimation", o->estimation, "Estimation (default: S)")
      ->check(CLI::IsMember({"XS", "S", "M", "L", "XL"}));
  add->add_option("--assignee", o->assignee, "Assignee (default: you)");
  add->add_option("--summary", o->summary, "Summary of a milestone or issue (default: the title)");
  add->add_option("--criterion", o->criteria, "Issue: an acceptance criterion (repeatable)");
  add->add_option("--deliverable", o->deliverables, "Milestone: a deliverable (repeatable)");
  add->add_option("--validation", o->validation, "Milestone: a validation step (repeatable)");
  add->add_option("--vision", o->vision, "Initiative: the vision");
  add->add_option("--in-scope", o->scope_in, "Initiative: in scope (repeatable)");
  add->add_option("--out-of-scope", o->scope_out, "Initiative: out of scope (repeatable)");
  add->add_option("--success", o->success, "Initiative: a success criterion (repeatable)");
  add->add_option("--blocked-by", o->blocked_by, "A sibling this waits on (repeatable)");
  add->add_option("--note", o->notes, "A note (repeatable)");
  add->add_option("--from-file", o->from_file,
                  "All fields as YAML or JSON, keys as the flags' (FILE or -)");
  add->add_flag("--edit", o->edit,
                "Write the fields in $VISUAL/$EDITOR on a template (the default on a terminal "
                "without --title)");
  add->add_flag("--dry-run", o->dry_run, "Show what would be created without writing");
  add->footer("Prints the new ID. Missing required content becomes TODO placeholders to fill in.\n"
              "The acting user is $KODEBASE_ACTOR, else git's user.name and user.email.");
  registry.add(add, [o](Session& s) { return run_add(s, *o); });

  transition_command(app, registry, "ready",
                     "Mark a draft ready, or blocked on unfinished blockers",
                     method::artifacts_ready);
  transition_command(app, registry, "start", "Start a ready artifact (in_progress); parents follow",
                     method::artifacts_start);
  transition_command(app, registry, "submit", "Submit work for review (in_review)",
                     method::artifacts_submit);
  transition_command(app, registry, "complete", "Complete reviewed work; dependents become ready",
                     method::artifacts_complete);
  transition_command(app, registry, "block", "Mark a draft blocked on its unfinished blockers",
                     method::artifacts_block);
  transition_command(app, registry, "cancel", "Cancel an artifact, with an impact report",
                     method::artifacts_cancel);
  transition_command(app, registry, "archive",
                     "Archive a cancelled artifact (or a completed one's cancelled children)",
                     method::artifacts_archive);
}

} // namespace kb::cli
