#include "core/artifact/model.hpp"

namespace kb::artifact {

namespace {

const std::string k_empty;

EventRecord read_event(const YamlNode& node) {
  EventRecord e;
  e.mark = node.mark;
  e.event = scalar_text(node.find("event"));
  if (!node.find("event"))
    e.event = "draft"; // the schema's default when the key is absent
  e.timestamp = scalar_text(node.find("timestamp"));
  e.actor = scalar_text(node.find("actor"));
  e.trigger = scalar_text(node.find("trigger"));
  const YamlNode* meta = node.find("metadata");
  if (!meta)
    return e;
  e.metadata = meta->to_json();
  const YamlNode* deps = meta->find("blocking_dependencies");
  if (!deps || !deps->is_sequence())
    return e;
  for (const auto& d : deps->items) {
    BlockingDependency bd;
    bd.artifact_id = scalar_text(d.find("artifact_id"));
    const YamlNode* r = d.find("resolved");
    bd.resolved = r && r->is_scalar() && r->to_json() == true;
    bd.resolved_at = scalar_text(d.find("resolved_at"));
    e.blocking_dependencies.push_back(std::move(bd));
  }
  return e;
}

// The completion block of the artifact's type, read as leniently as the rest.
void read_completion(Artifact& a) {
  const YamlNode* block = a.document.find(a.completion_key());
  if (!block || !block->is_mapping())
    return;
  switch (a.type()) {
  case ArtifactType::issue: {
    ImplementationNotes n{scalar_text(block->find("result")),
                          scalar_list(block->find("tags")),
                          {},
                          scalar_list(block->find("insights"))};
    if (const YamlNode* ch = block->find("challenges"); ch && ch->is_sequence())
      for (const auto& c : ch->items)
        n.challenges.push_back(
            Challenge{scalar_text(c.find("challenge")), scalar_text(c.find("solution"))});
    a.implementation_notes = std::make_shared<const ImplementationNotes>(std::move(n));
    break;
  }
  case ArtifactType::milestone:
    a.delivery_summary = std::make_shared<const DeliverySummary>(
        DeliverySummary{scalar_text(block->find("outcome")), scalar_list(block->find("delivered")),
                        scalar_list(block->find("deviations")), scalar_text(block->find("next")),
                        scalar_list(block->find("risks"))});
    break;
  case ArtifactType::initiative:
    a.impact_summary = std::make_shared<const ImpactSummary>(
        ImpactSummary{scalar_text(block->find("outcome")), scalar_list(block->find("benefits")),
                      scalar_list(block->find("evidence")), scalar_text(block->find("next"))});
    break;
  }
}

} // namespace

std::string scalar_text(const YamlNode* node) {
  return node && node->is_scalar() ? node->scalar : std::string();
}

std::vector<std::string> scalar_list(const YamlNode* node) {
  std::vector<std::string> out;
  if (!node)
    return out;
  if (node->is_scalar()) {
    out.push_back(node->scalar);
    return out;
  }
  if (!node->is_sequence())
    return out;
  out.reserve(node->items.size());
  for (const auto& item : node->items)
    if (item.is_scalar())
      out.push_back(item.scalar);
  return out;
}

const std::string& Artifact::last_event() const {
  return events.empty() ? k_empty : events.back().event;
}

const std::string& Artifact::updated_at() const {
  return events.empty() ? k_empty : events.back().timestamp;
}

std::string_view Artifact::completion_key() const {
  switch (type()) {
  case ArtifactType::issue: return "implementation_notes";
  case ArtifactType::milestone: return "delivery_summary";
  case ArtifactType::initiative: return "impact_summary";
  }
  return "implementation_notes";
}

Artifact artifact_from_document(ArtifactId id, std::filesystem::path path, YamlNode document) {
  Artifact a;
  a.id = std::move(id);
  a.path = std::move(path);
  a.document = std::move(document);
  const YamlNode& doc = a.document;
  if (const YamlNode* meta = doc.find("metadata")) {
    a.title = scalar_text(meta->find("title"));
    a.priority = scalar_text(meta->find("priority"));
    a.estimation = scalar_text(meta->find("estimation"));
    a.created_by = scalar_text(meta->find("created_by"));
    a.assignee = scalar_text(meta->find("assignee"));
    a.schema_version = scalar_text(meta->find("schema_version"));
    if (const YamlNode* rel = meta->find("relationships")) {
      a.blocks = scalar_list(rel->find("blocks"));
      a.blocked_by = scalar_list(rel->find("blocked_by"));
    }
    if (const YamlNode* events = meta->find("events"); events && events->is_sequence())
      for (const auto& e : events->items)
        if (e.is_mapping())
          a.events.push_back(read_event(e));
  }
  if (const YamlNode* content = doc.find("content")) {
    a.summary = scalar_text(content->find("summary"));
    a.acceptance_criteria = scalar_list(content->find("acceptance_criteria"));
    a.deliverables = scalar_list(content->find("deliverables"));
    a.validation = scalar_list(content->find("validation"));
    a.vision = scalar_text(content->find("vision"));
    a.success_criteria = scalar_list(content->find("success_criteria"));
    if (const YamlNode* scope = content->find("scope"); scope && scope->is_mapping()) {
      a.scope_in = scalar_list(scope->find("in"));
      a.scope_out = scalar_list(scope->find("out"));
    } else {
      // Tolerated older shapes: `scope` as text, or `in_scope` / `out_of_scope` lists.
      if (scope && scope->is_scalar())
        a.scope_in.push_back(scope->scalar);
      a.scope_in = a.scope_in.empty() ? scalar_list(content->find("in_scope")) : a.scope_in;
      a.scope_out = scalar_list(content->find("out_of_scope"));
    }
  }
  a.notes = scalar_list(doc.find("notes"));
  read_completion(a);
  return a;
}

} // namespace kb::artifact
