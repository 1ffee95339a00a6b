#pragma once

#include "core/artifact/id.hpp"
#include "core/artifact/yaml.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kb::artifact {

// One entry of a `blocked` event's `blocking_dependencies`.
struct BlockingDependency {
  std::string artifact_id;
  bool resolved = false;
  std::string resolved_at;
};

// One element of `metadata.events`, as written (strings are not checked here).
struct EventRecord {
  std::string event;
  std::string timestamp;
  std::string actor;
  std::string trigger;
  nlohmann::json metadata; // null when absent
  std::vector<BlockingDependency> blocking_dependencies;
  Mark mark;
};

// One `challenges` entry of an issue's implementation notes.
struct Challenge {
  std::string challenge;
  std::string solution;
};

// The completion block of an issue (`implementation_notes`).
struct ImplementationNotes {
  std::string result;
  std::vector<std::string> tags;
  std::vector<Challenge> challenges;
  std::vector<std::string> insights;
};

// The completion block of a milestone (`delivery_summary`).
struct DeliverySummary {
  std::string outcome;
  std::vector<std::string> delivered;
  std::vector<std::string> deviations;
  std::string next;
  std::vector<std::string> risks;
};

// The completion block of an initiative (`impact_summary`).
struct ImpactSummary {
  std::string outcome;
  std::vector<std::string> benefits;
  std::vector<std::string> evidence;
  std::string next;
};

// An artifact read leniently from its file: every field of the schema that could be read,
// the whole document (unknown keys included) and where it came from. Fields of the wrong
// shape are left empty; validation reports them from the document.
struct Artifact {
  ArtifactId id;
  std::filesystem::path path; // absolute
  YamlNode document;

  // metadata
  std::string title;
  std::string priority;   // empty when absent (the schema default is medium)
  std::string estimation; // empty when absent
  std::string created_by;
  std::string assignee;
  std::string schema_version;
  std::vector<std::string> blocks;
  std::vector<std::string> blocked_by;
  std::vector<EventRecord> events;

  // content: issue and milestone
  std::string summary;
  std::vector<std::string> acceptance_criteria; // issue
  std::vector<std::string> deliverables;        // milestone
  std::vector<std::string> validation;          // milestone
  // content: initiative
  std::string vision;
  std::vector<std::string> scope_in;
  std::vector<std::string> scope_out;
  std::vector<std::string> success_criteria;

  std::vector<std::string> notes;

  // The completion block of this artifact's type, when the file has one.
  // (Held by pointer: most artifacts have none, and a warm index holds thousands.)
  std::shared_ptr<const ImplementationNotes> implementation_notes; // issue
  std::shared_ptr<const DeliverySummary> delivery_summary;         // milestone
  std::shared_ptr<const ImpactSummary> impact_summary;             // initiative

  // The file holds conflict markers (a merge made without kodebase's driver): what is read is
  // its own branch's side, and this is the line of the first marker (0: no conflict).
  int conflict_line = 0;

  // The API's list entry of this artifact as compact JSON, filled in on first use and kept
  // while the artifact is (the daemon's warm index answers `list` from it). An index is used
  // by one thread at a time, so filling it in needs no lock.
  mutable std::string summary_text;

  ArtifactType type() const { return id.type(); }
  // The `event` of the last event, or "" when there are none.
  const std::string& last_event() const;
  // Priority with the schema default applied.
  std::string_view effective_priority() const {
    return priority.empty() ? std::string_view("medium") : std::string_view(priority);
  }
  // Timestamp of the last event, or "".
  const std::string& updated_at() const;
  // The completion block key for this type: implementation_notes, delivery_summary or
  // impact_summary.
  std::string_view completion_key() const;
};

// Reads the typed fields of `document` leniently into an Artifact.
Artifact artifact_from_document(ArtifactId id, std::filesystem::path path, YamlNode document);

// The scalar text of `node` (plain or quoted), or "" for other kinds.
std::string scalar_text(const YamlNode* node);

// The scalar items of a list node; a single scalar counts as a one-item list.
std::vector<std::string> scalar_list(const YamlNode* node);

} // namespace kb::artifact
