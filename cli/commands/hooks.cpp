// `hooks install|uninstall|status|run`.
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <iterator>

namespace kb::cli {

namespace method = protocol::method;

namespace {

int show_hooks(Session& s, const json& r) {
  if (s.globals.json) {
    s.print_json(r);
    return k_exit_ok;
  }
  std::string text = s.style().dim("hooks in " + r.value("hooks_dir", "")) + "\n";
  for (const auto& h : r["hooks"])
    text += fmt::format(
        "  {:<14} {}{}\n", h.value("name", ""),
        h.value("installed", false) ? s.style().green("installed") : s.style().dim("not installed"),
        h.value("other_content", false) ? s.style().dim(" (with other commands)") : "");
  // install answers with what it set up, status with whether it is set up.
  const auto& driver = r.value("merge_driver", json());
  bool on = driver.is_object() || driver == true;
  text += fmt::format("  {:<14} {}{}\n", "merge driver",
                      on ? s.style().green("installed") : s.style().dim("not installed"),
                      driver.is_object() && driver.value("added", false)
                          ? s.style().dim(" (.gitattributes: commit it)")
                          : "");
  print(text);
  return k_exit_ok;
}

struct RunOptions {
  std::string name;
  std::vector<std::string> args;
};

// Hooks never break git for an internal reason: failures become warnings and exit 0; only a
// deliberate gate (invalid staged artifacts, drafts to the default branch by policy) exits 1.
int run_hook(Session& s, const RunOptions& o) {
  json params = {{"name", o.name}, {"args", o.args}};
  if (o.name == "pre-push")
    params["stdin"] = std::string(std::istreambuf_iterator<char>(std::cin), {});
  // Git runs hooks with its own environment (GIT_DIR, GIT_INDEX_FILE for `commit -a`…), which
  // the git commands of the hook must see: answered in this process's child, not the daemon.
  s.globals.no_daemon = true;
  auto r = s.call(method::hooks_run, params);
  if (!r) {
    if (r.error().kind == util::ErrorKind::invalid_argument)
      return s.fail(r.error());
    s.warn(fmt::format("{} hook: {} (git goes on)", o.name, r.error().message));
    return k_exit_ok;
  }
  if (s.globals.json)
    s.print_json(*r);
  for (const auto& w : (*r)["warnings"])
    s.warn(fmt::format("{}: {}", o.name, w.get<std::string>()));
  if (s.globals.verbose)
    for (const auto& a : (*r)["actions"])
      std::fprintf(stderr, "kodebase: %s: %s\n", o.name.c_str(), a.get<std::string>().c_str());
  else
    for (const auto& a : (*r)["actions"]) {
      // Without -v, only what changed the repository is worth a line in git's output.
      const auto& text = a.get_ref<const std::string&>();
      for (const char* changed : {"started ", "completed ", "staged ", "committed "})
        if (text.starts_with(changed))
          std::fprintf(stderr, "kodebase: %s\n", text.c_str());
    }
  for (const auto& f : (*r)["findings"])
    std::fprintf(stderr, "%s:%s: error [%s] %s\n", f.value("path", "").c_str(),
                 f["line"].is_number() ? std::to_string(f["line"].get<int>()).c_str() : "?",
                 f.value("code", "").c_str(), f.value("message", "").c_str());
  if (r->value("blocked", false)) {
    std::fprintf(stderr,
                 "kodebase: %s refused; fix the artifacts above (or use git's "
                 "--no-verify to skip)\n",
                 o.name.c_str());
    return k_exit_failed;
  }
  return k_exit_ok;
}

} // namespace

void register_hook_commands(CLI::App& app, CommandRegistry& registry) {
  auto* hooks = app.add_subcommand("hooks", "Install, inspect or run the git hooks");
  hooks->require_subcommand(1);
  hooks->footer("Hooks: post-checkout starts the artifact a new branch is named by; post-merge "
                "completes a merged artifact branch (when settings say hooks: post_merge_complete: "
                "true); both report artifact IDs that two branches minted, with the renumber "
                "command that fixes it; pre-commit refuses invalid staged artifacts; pre-push "
                "warns about drafts going to main (blocks with pre_push_block_drafts: true). "
                "install also sets up the merge driver for artifact files. core.hooksPath is "
                "honoured, existing hooks keep working.");
  auto* install = hooks->add_subcommand("install", "Add kodebase's block to the git hooks");
  registry.add(install, [](Session& s) {
    auto r = s.call(method::hooks_install, {{"cli", self_path()}});
    return r ? show_hooks(s, *r) : s.fail(r.error());
  });
  auto* uninstall = hooks->add_subcommand("uninstall", "Remove kodebase's block from the hooks");
  registry.add(uninstall, [](Session& s) {
    auto r = s.call(method::hooks_uninstall);
    if (!r)
      return s.fail(r.error());
    if (s.globals.json)
      s.print_json(*r);
    else
      std::printf("removed kodebase from %zu hook%s\n", (*r)["removed"].size(),
                  (*r)["removed"].size() == 1 ? "" : "s");
    return int{k_exit_ok};
  });
  auto* status = hooks->add_subcommand("status", "Show which hooks carry kodebase's block");
  registry.add(status, [](Session& s) {
    auto r = s.call(method::hooks_status);
    return r ? show_hooks(s, *r) : s.fail(r.error());
  });
  auto o = std::make_shared<RunOptions>();
  auto* run = hooks->add_subcommand("run", "Run a hook (git calls this)");
  run->add_option("name", o->name, "Hook name")
      ->required()
      ->check(CLI::IsMember({"post-checkout", "post-merge", "pre-commit", "pre-push"}));
  run->add_option("args", o->args, "The arguments git passed to the hook");
  registry.add(run, [o](Session& s) { return run_hook(s, *o); });
}

} // namespace kb::cli
