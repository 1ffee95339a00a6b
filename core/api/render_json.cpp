#include "core/api/render_json.hpp"

namespace kb::api {

using artifact::Artifact;

namespace {

json nullable(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

} // namespace

json summary_json(const LoadedProject& p, const Artifact& a) {
  // Built key by key: an initializer list would copy every value once more, and lists of
  // thousands of artifacts make that visible.
  auto parent = a.id.parent();
  json out(json::value_t::object);
  out["id"] = a.id.str();
  out["type"] = artifact::to_string(a.type());
  out["title"] = a.title;
  out["state"] = lifecycle::state_name(a);
  out["priority"] = a.effective_priority();
  out["estimation"] = nullable(a.estimation);
  out["assignee"] = nullable(a.assignee);
  out["parent"] = parent ? json(parent->str()) : json(nullptr);
  out["path"] = p.project.relative(a.path);
  out["blocked_by"] = a.blocked_by;
  out["blocks"] = a.blocks;
  out["updated"] = nullable(a.updated_at());
  if (a.conflict_line) // read from its own side of a merge's conflict markers
    out["conflicted"] = true;
  return out;
}

const std::string& summary_text(const LoadedProject& p, const Artifact& a) {
  if (a.summary_text.empty())
    a.summary_text = summary_json(p, a).dump();
  return a.summary_text;
}

json reasons_json(const std::vector<lifecycle::BlockingReason>& reasons) {
  json out = json::array();
  for (const auto& r : reasons)
    out.push_back(
        {{"type", lifecycle::to_string(r.type)}, {"message", r.message}, {"related", r.related}});
  return out;
}

json full_json(const LoadedProject& p, const Artifact& a) {
  json out = summary_json(p, a);
  auto reasons = lifecycle::blocking_reasons(p.index, a);
  out["ready"] = reasons.empty();
  out["blocking_reasons"] = reasons_json(reasons);
  out["children"] = json::array();
  for (const Artifact* c : p.index.children(a.id))
    out["children"].push_back(c->id.str());
  // The document as written, unknown keys included; computed fields above take precedence.
  json doc = a.document.to_json();
  for (auto& [key, value] : doc.items())
    if (!out.contains(key))
      out[key] = std::move(value);
  return out;
}

json event_json(const artifact::EventRecord& e) {
  json out{
      {"event", e.event}, {"timestamp", e.timestamp}, {"actor", e.actor}, {"trigger", e.trigger}};
  if (!e.metadata.is_null())
    out["metadata"] = e.metadata;
  return out;
}

json planned_events_json(const std::vector<lifecycle::PlannedEvent>& events) {
  json out = json::array();
  for (const auto& e : events)
    out.push_back({{"id", e.id},
                   {"from", e.from},
                   {"to", e.to},
                   {"trigger", e.trigger},
                   {"cascade", e.cascade},
                   {"note", e.note}});
  return out;
}

json problems_json(const LoadedProject& p) {
  json out = json::array();
  for (const auto& problem : p.index.problems())
    out.push_back({{"id", problem.id ? json(problem.id->str()) : json(nullptr)},
                   {"path", p.project.relative(problem.path)},
                   {"line", problem.mark.line},
                   {"column", problem.mark.column},
                   {"code", problem.code},
                   {"message", problem.message}});
  return out;
}

json finding_json(const repo::Project& project, const validate::Finding& f) {
  return json{{"id", f.id.empty() ? json(nullptr) : json(f.id)},
              {"path", project.relative(f.path)},
              {"severity", validate::to_string(f.severity)},
              {"code", f.code},
              {"message", f.message},
              {"field", nullable(f.field)},
              {"line", f.mark.line ? json(f.mark.line) : json(nullptr)},
              {"column", f.mark.column ? json(f.mark.column) : json(nullptr)},
              {"fix", nullable(f.fix)}};
}

} // namespace kb::api
