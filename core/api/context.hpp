#pragma once

#include "core/artifact/index.hpp"
#include "core/repo/project.hpp"
#include "core/util/result.hpp"
#include "core/validate/text_rules.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kb::api {

using nlohmann::json;

// A project with its artifacts loaded.
struct LoadedProject {
  repo::Project project;
  artifact::ArtifactIndex index;
};

// Where handlers get projects from: the one-shot mode reads the disk on every request, the
// daemon answers from its warm index. Handlers never care which.
class ProjectSource {
public:
  virtual ~ProjectSource() = default;
  // The project containing `directory`, loaded.
  virtual util::Result<std::shared_ptr<const LoadedProject>>
  open(const std::filesystem::path& directory) = 0;
};

// Reads the project from disk on every call.
class DiskProjectSource final : public ProjectSource {
public:
  // `until_exit` keeps every loaded project alive for the life of the source: a one-shot
  // process exits right after its reply, and freeing a large index first only delays it.
  enum class Retain { no, until_exit };
  explicit DiskProjectSource(Retain retain = Retain::no) : m_retain(retain) {}

  util::Result<std::shared_ptr<const LoadedProject>>
  open(const std::filesystem::path& directory) override;

private:
  Retain m_retain;
  std::vector<std::shared_ptr<const LoadedProject>> m_retained;
};

// Reads every artifact of `project` under a ReadLock (so no change is half-visible, and one a
// killed writer left is settled first), within the user's read limits; kodebase temporaries
// left by killed writers are removed on the way.
util::Result<artifact::ArtifactIndex> read_index(const repo::Project& project);

// Everything a handler may use besides its params.
struct Context {
  ProjectSource& projects;
  std::string server_mode = "oneshot"; // "oneshot" or "daemon", reported by status
};

// The project named by params.directory (an absolute path, required).
util::Result<std::shared_ptr<const LoadedProject>> open_project(Context& ctx, const json& params);

// params.directory as a path, or invalid_argument.
util::Result<std::filesystem::path> directory_param(const json& params);

// The project that params.directory lies in, without loading it.
util::Result<repo::Project> project_param(const json& params);

// A required string param, or invalid_argument naming it.
util::Result<std::string> string_param(const json& params, const char* key);

// A text value given for the field `name` ("the title", "acceptance_criteria[1]") that breaks
// `rule`, the validator's own, as invalid_argument naming the field, so a bad value is refused
// before anything is written rather than found by the validation of the result.
util::Status check_text(std::string_view name, std::string_view value,
                        const validate::TextRule& rule);
// The value a write gives for the field `key` (title, summary, vision), by that field's rule: a
// title is one line (no line break, tab or other control character, which break every table)
// of 3 to 100 characters as upstream counts them; the others say something.
util::Status check_field_text(std::string_view key, std::string_view value);

// The artifact named by params.id, or invalid_argument / not_found with a hint (or failed,
// naming the file, when its file cannot be read).
util::Result<const artifact::Artifact*>
artifact_in(const artifact::ArtifactIndex& index, const repo::Project& project, const json& params);
util::Result<const artifact::Artifact*> artifact_param(const LoadedProject& p, const json& params);

} // namespace kb::api
