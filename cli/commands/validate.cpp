// `validate`.
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

namespace kb::cli {

namespace {

struct ValidateOptions {
  std::vector<std::string> ids;
  bool strict = false;
  bool fix = false;
  bool dry_run = false;
};

std::string location(const json& f) {
  std::string loc = f.value("path", "");
  if (f["line"].is_number())
    loc += fmt::format(":{}:{}", f["line"].get<int>(),
                       f["column"].is_number() ? f["column"].get<int>() : 0);
  return loc;
}

std::string render_finding(const Session& s, const json& f, bool error) {
  const auto& st = s.style();
  std::string label = error ? st.red("error") : st.yellow("warning");
  // The field is named in the message already when the message starts with it.
  std::string field;
  if (f["field"].is_string() &&
      f.value("message", "").find(f["field"].get<std::string>()) == std::string::npos)
    field = f["field"].get<std::string>() + ": ";
  std::string text = fmt::format("{}: {} [{}] {}{}\n", st.bold(location(f)), label,
                                 f.value("code", ""), field, f.value("message", ""));
  if (f["fix"].is_string())
    text += fmt::format("    {} {}\n", st.dim("fix:"), f["fix"].get<std::string>());
  return text;
}

int run_validate(Session& s, const ValidateOptions& o) {
  json params = {
      {"ids", o.ids}, {"strict", o.strict}, {"fix", o.fix || o.dry_run}, {"dry_run", o.dry_run}};
  auto r = s.call(protocol::method::artifacts_validate, params);
  if (!r)
    return s.fail(r.error());
  bool valid = r->value("valid", false);
  if (s.globals.json) {
    s.print_json(*r);
    return valid ? k_exit_ok : k_exit_failed;
  }
  std::string text;
  if (r->contains("fixes")) {
    bool dry = r->value("dry_run", false);
    for (const auto& f : (*r)["fixes"])
      text += fmt::format("{}: {} [{}] {}\n", s.style().bold(f.value("path", "")),
                          dry ? s.style().yellow("would fix") : s.style().green("fixed"),
                          f.value("code", ""), f.value("fix", ""));
    if ((*r)["fixes"].empty())
      text += s.style().dim("nothing to fix mechanically\n");
    text += "\n";
  }
  for (const auto& f : (*r)["errors"])
    text += render_finding(s, f, true);
  if (!s.globals.quiet)
    for (const auto& f : (*r)["warnings"])
      text += render_finding(s, f, false);
  size_t errors = (*r)["errors"].size(), warnings = (*r)["warnings"].size();
  std::string summary =
      fmt::format("{} artifact{} checked{}: {} error{}, {} warning{}", r->value("artifacts", 0),
                  r->value("artifacts", 0) == 1 ? "" : "s", o.strict ? " (strict)" : "", errors,
                  errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
  if (!text.empty())
    text += "\n";
  text += (valid ? s.style().green(summary) : s.style().red(summary)) + "\n";
  if (!valid && !o.strict && !s.globals.quiet)
    text += s.style().dim("Each finding names the file, line and field; `--json` gives them "
                          "to scripts.\n");
  print(text);
  return valid ? k_exit_ok : k_exit_failed;
}

} // namespace

void register_validate_command(CLI::App& app, CommandRegistry& registry) {
  auto opts = std::make_shared<ValidateOptions>();
  auto* validate = app.add_subcommand("validate", "Check artifacts against the schema and rules");
  validate->add_option("ids", opts->ids, "Only report on these artifact IDs (default: all)");
  validate->add_flag("--strict", opts->strict,
                     "Apply the v1 rules strictly: tolerated older forms become errors");
  validate->add_flag("--fix", opts->fix,
                     "Repair what is safe: the missing side of dependency pairs, timestamps "
                     "that parse unambiguously");
  validate->add_flag("--dry-run", opts->dry_run, "With --fix: show the repairs, write nothing");
  validate->footer("Exit status: 0 when no errors, 1 when there are errors.\n"
                   "The whole project is loaded either way, so graph rules (cycles, unknown "
                   "targets, inconsistent pairs) see every artifact.");
  registry.add(validate, [opts](Session& s) { return run_validate(s, *opts); });
}

} // namespace kb::cli
