#include "core/api/context.hpp"

#include "core/api/settings.hpp"
#include "core/repo/lock.hpp"

#include <fmt/format.h>
#include <unistd.h>

namespace kb::api {

util::Result<std::shared_ptr<const LoadedProject>>
DiskProjectSource::open(const std::filesystem::path& directory) {
  auto project = repo::find_project(directory);
  KB_TRY(project);
  auto index = read_index(*project);
  KB_TRY(index);
  auto loaded = std::make_shared<LoadedProject>();
  loaded->project = *project;
  loaded->index = std::move(*index);
  if (m_retain == Retain::until_exit)
    m_retained.push_back(loaded);
  return std::shared_ptr<const LoadedProject>(std::move(loaded));
}

util::Result<artifact::ArtifactIndex> read_index(const repo::Project& project) {
  for (;;) {
    auto lock = repo::ReadLock::acquire(project);
    KB_TRY(lock);
    std::vector<std::filesystem::path> temporaries;
    auto index = artifact::load_index(project.artifacts_dir(), read_limits(), &temporaries);
    if (!lock->read_stands())
      continue; // a first writer began meanwhile
    // Under the lock no writer is between its steps: these are left over from killed ones.
    for (const auto& t : temporaries)
      ::unlink(t.c_str());
    return index;
  }
}

util::Result<std::filesystem::path> directory_param(const json& params) {
  auto it = params.find("directory");
  if (it == params.end() || !it->is_string() || it->get<std::string>().empty())
    return util::make_error(util::ErrorKind::invalid_argument,
                            "params.directory (the absolute directory to work in) is required");
  std::filesystem::path dir = it->get<std::string>();
  if (!dir.is_absolute())
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("params.directory '{}' must be absolute", dir.string()));
  return dir;
}

util::Result<std::shared_ptr<const LoadedProject>> open_project(Context& ctx, const json& params) {
  auto dir = directory_param(params);
  KB_TRY(dir);
  return ctx.projects.open(*dir);
}

util::Result<repo::Project> project_param(const json& params) {
  auto dir = directory_param(params);
  KB_TRY(dir);
  return repo::find_project(*dir);
}

util::Result<std::string> string_param(const json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || !it->is_string())
    return util::make_error(util::ErrorKind::invalid_argument,
                            fmt::format("params.{} (a string) is required", key));
  return it->get<std::string>();
}

util::Status check_text(std::string_view name, std::string_view value,
                        const validate::TextRule& rule) {
  auto problem = validate::text_problem(name, value, rule);
  if (!problem)
    return util::ok_status();
  std::string_view hint = problem.code == "not_one_line"
                              ? "write it on one line; details go in the summary or notes"
                          : problem.code == "too_big" ? "shorten it"
                          : rule.min > 1              ? "write a longer text"
                                                      : "write what it says, or leave it out";
  return util::make_error(util::ErrorKind::invalid_argument, std::move(problem.message),
                          {{"hint", hint}});
}

util::Status check_field_text(std::string_view key, std::string_view value) {
  return check_text(fmt::format("the {}", key), value,
                    key == "title" ? validate::k_title_rule : validate::k_text_rule);
}

util::Result<const artifact::Artifact*> artifact_param(const LoadedProject& p, const json& params) {
  return artifact_in(p.index, p.project, params);
}

util::Result<const artifact::Artifact*> artifact_in(const artifact::ArtifactIndex& index,
                                                    const repo::Project& project,
                                                    const json& params) {
  auto text = string_param(params, "id");
  KB_TRY(text);
  auto id = artifact::ArtifactId::parse_or_error(*text);
  KB_TRY(id);
  if (const artifact::Artifact* a = index.find(*id))
    return a;
  for (const auto& problem : index.problems())
    if (problem.id == *id)
      return util::make_error(util::ErrorKind::failed,
                              fmt::format("artifact {} cannot be read: {}:{}:{}: {}", id->str(),
                                          project.relative(problem.path), problem.mark.line,
                                          problem.mark.column, problem.message),
                              {{"hint", "fix the file, then run `kodebase validate`"}});
  return util::make_error(util::ErrorKind::not_found,
                          fmt::format("artifact {} not found", id->str()),
                          {{"hint", "run `kodebase list` to see the artifact IDs"}});
}

} // namespace kb::api
