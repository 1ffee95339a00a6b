// Git hooks: installing kodebase's block into the repository's hooks, and running them.
#include "core/api/methods.hpp"
#include "core/api/render_json.hpp"
#include "core/api/write_session.hpp"
#include "core/artifact/yaml.hpp"
#include "core/lifecycle/readiness.hpp"
#include "core/repo/git.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"
#include "core/validate/validator.hpp"

#include <array>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

namespace kb::api {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::string_view, 4> k_hooks = {"post-checkout", "post-merge", "pre-commit",
                                                     "pre-push"};
constexpr std::string_view k_begin = "# >>> kodebase >>>";
constexpr std::string_view k_end = "# <<< kodebase <<<";

// The hooks directory git uses for this repository (core.hooksPath honoured).
util::Result<fs::path> hooks_dir(const repo::Project& p) {
  auto dir = repo::git_output(p, {"rev-parse", "--git-path", "hooks"});
  if (!dir)
    return util::make_error(util::ErrorKind::not_project,
                            fmt::format("{} is not in a git repository", p.root.string()),
                            {{"hint", "run `git init` first"}});
  fs::path path = *dir;
  return path.is_absolute() ? path : p.root / path;
}

// Our block in a hook script: the gates (pre-*) pass kodebase's exit status on; the others
// never fail git.
std::string block_for(std::string_view hook, const std::string& cli) {
  bool gate = hook.starts_with("pre-");
  return fmt::format(
      "{}\n# Managed by `kodebase hooks install`; `kodebase hooks uninstall` removes it.\n"
      "if [ -x '{}' ]; then\n  '{}' hooks run {} \"$@\"{}\nfi\n{}\n",
      k_begin, cli, cli, hook, gate ? " || exit $?" : " || true", k_end);
}

// `text` without our block (and the position where it was, or npos).
std::pair<std::string, size_t> without_block(const std::string& text) {
  auto begin = text.find(k_begin);
  if (begin == std::string::npos)
    return {text, std::string::npos};
  auto end = text.find(k_end, begin);
  if (end == std::string::npos)
    return {text, std::string::npos};
  end += k_end.size();
  if (end < text.size() && text[end] == '\n')
    ++end;
  return {text.substr(0, begin) + text.substr(end), begin};
}

struct HookState {
  std::string name;
  fs::path path;
  bool exists = false;
  bool installed = false;
  bool other_content = false; // the hook also does things of its own
};

HookState inspect(const fs::path& dir, std::string_view name) {
  HookState s{std::string(name), dir / std::string(name)};
  auto text = util::read_file(s.path);
  if (!text)
    return s;
  s.exists = true;
  auto [rest, at] = without_block(*text);
  s.installed = at != std::string::npos;
  s.other_content = rest.find_first_not_of(" \n") != std::string::npos && rest != "#!/bin/sh\n" &&
                    rest.find('\n') != rest.size() - 1;
  return s;
}

json state_json(const HookState& s) {
  return {{"name", s.name},
          {"path", s.path.string()},
          {"installed", s.installed},
          {"other_content", s.other_content}};
}

// The project of params.directory and the hooks directory of its repository.
util::Result<std::pair<repo::Project, fs::path>> hooks_location(const json& params) {
  auto p = project_param(params);
  KB_TRY(p);
  auto hooks = hooks_dir(*p);
  KB_TRY(hooks);
  return std::pair{*p, *hooks};
}

constexpr std::string_view k_attribute = ".kodebase/artifacts/**/*.yml merge=kodebase";

} // namespace

bool merge_driver_configured(const repo::Project& p) {
  auto driver = repo::git_output(p, {"config", "--get", "merge.kodebase.driver"});
  return driver && driver->find("merge-driver") != std::string::npos;
}

util::Result<json> register_merge_driver(const repo::Project& p, const std::string& cli) {
  // .gitattributes names the driver for artifact files, and is committed: every clone has it.
  auto file = p.root / ".gitattributes";
  auto text = util::read_file(file, {.max_bytes = 1 << 20, .follow_links = false});
  if (!text && text.error().kind != util::ErrorKind::not_found)
    return util::make_error(util::ErrorKind::failed, text.error().message,
                            {{"hint", "fix or remove .gitattributes, then run this again"}});
  std::string attributes = text ? *text : std::string();
  bool added = attributes.find(k_attribute) == std::string::npos;
  if (added) {
    if (!attributes.empty() && attributes.back() != '\n')
      attributes += '\n';
    attributes += std::string(k_attribute) + "\n";
    KB_TRY(util::write_file_atomic(file, attributes));
  }
  // The command lives in the repository's own config, which each clone sets for itself.
  auto command = fmt::format("'{}' merge-driver %O %A %B %L %P", cli);
  if (!repo::git_output(p, {"config", "merge.kodebase.name", "kodebase artifact merge"}) ||
      !repo::git_output(p, {"config", "merge.kodebase.driver", command}))
    return util::make_error(util::ErrorKind::failed,
                            "cannot set merge.kodebase.* in the repository's git config");
  return json{{"gitattributes", p.relative(file)}, {"added", added}, {"driver", command}};
}

util::Result<json> hooks_install(Context&, const json& params) {
  auto location = hooks_location(params);
  KB_TRY(location);
  const fs::path* dir = &location->second;
  auto cli = string_param(params, "cli");
  KB_TRY(cli);
  std::error_code ec;
  fs::create_directories(*dir, ec);
  json hooks = json::array();
  for (auto name : k_hooks) {
    auto path = *dir / std::string(name);
    auto text = util::read_file(path);
    std::string content = text ? *text : std::string("#!/bin/sh\n");
    auto [rest, at] = without_block(content);
    // Our block goes right after the shebang so an `exit` later in the hook cannot skip it.
    size_t insert = at != std::string::npos ? at : rest.starts_with("#!") ? rest.find('\n') + 1 : 0;
    if (insert > rest.size())
      insert = rest.size();
    std::string next = rest.substr(0, insert) + block_for(name, *cli) + rest.substr(insert);
    if (next != content) {
      KB_TRY(util::write_file_atomic(path, next, 0755));
    }
    ::chmod(path.c_str(), 0755);
    hooks.push_back(state_json(inspect(*dir, name)));
  }
  auto driver = register_merge_driver(location->first, *cli);
  KB_TRY(driver);
  return json{{"hooks_dir", dir->string()}, {"hooks", hooks}, {"merge_driver", *driver}};
}

util::Result<json> hooks_uninstall(Context&, const json& params) {
  auto location = hooks_location(params);
  KB_TRY(location);
  const fs::path* dir = &location->second;
  json removed = json::array();
  for (auto name : k_hooks) {
    auto path = *dir / std::string(name);
    auto text = util::read_file(path);
    if (!text)
      continue;
    auto [rest, at] = without_block(*text);
    if (at == std::string::npos)
      continue;
    if (rest == "#!/bin/sh\n" || rest.empty())
      fs::remove(path); // it held nothing but our block
    else if (auto st = util::write_file_atomic(path, rest, 0755); !st)
      return st.error();
    removed.push_back(std::string(name));
  }
  // The driver goes too (.gitattributes is the project's: it stays, and does nothing alone).
  bool driver = merge_driver_configured(location->first);
  if (driver)
    (void)repo::git_output(location->first, {"config", "--remove-section", "merge.kodebase"});
  return json{{"hooks_dir", dir->string()}, {"removed", removed}, {"merge_driver_removed", driver}};
}

util::Result<json> hooks_status(Context&, const json& params) {
  auto location = hooks_location(params);
  KB_TRY(location);
  const fs::path* dir = &location->second;
  json hooks = json::array();
  for (auto name : k_hooks)
    hooks.push_back(state_json(inspect(*dir, name)));
  return json{{"hooks_dir", dir->string()},
              {"hooks", hooks},
              {"merge_driver", merge_driver_configured(location->first)}};
}

} // namespace kb::api
