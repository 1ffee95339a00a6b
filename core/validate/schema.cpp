#include "core/validate/rules.hpp"
#include "core/validate/text_rules.hpp"

#include "core/util/text.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>

namespace kb::validate {

using artifact::ArtifactType;
using artifact::Mark;
using artifact::YamlNode;

namespace {

constexpr std::array<std::string_view, 4> k_priorities = {"low", "medium", "high", "critical"};
constexpr std::array<std::string_view, 5> k_estimations = {"XS", "S", "M", "L", "XL"};

std::string join_path(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
}

// Checks of fields within one mapping, reporting missing keys at the mapping's position.
class Fields {
public:
  Fields(Sink& sink, const YamlNode& map, std::string path)
      : m_sink(sink), m_map(map), m_path(std::move(path)) {}

  const YamlNode* get(std::string_view key) const { return m_map.find(key); }
  std::string path(std::string_view key) const { return join_path(m_path, key); }

  void missing(std::string_view key, std::string_view what) {
    m_sink.error("invalid_type", path(key), m_map.mark, fmt::format("{} is required", path(key)),
                 fmt::format("add `{}:` with {}", key, what));
  }

  void wrong_type(std::string_view key, const YamlNode& node, std::string_view expected) {
    m_sink.error("invalid_type", path(key), node.mark,
                 fmt::format("{} must be {}, found {}", path(key), expected, node.describe()),
                 fmt::format("write {} as {}", key, expected));
  }

  // A string field; returns the node when it is a scalar. Its length is bounded by `rule`, as
  // upstream counts it (text_rules.hpp).
  const YamlNode* string(std::string_view key, bool required, const TextRule& rule = k_text_rule) {
    const YamlNode* n = get(key);
    if (!n || n->is_null()) {
      if (required)
        missing(key, "a text value");
      return nullptr;
    }
    if (!n->is_scalar()) {
      wrong_type(key, *n, "a string");
      return nullptr;
    }
    if (auto problem = text_problem(path(key), n->scalar, rule, false))
      m_sink.error(std::string(problem.code), path(key), n->mark, std::move(problem.message),
                   problem.code == "too_big" ? fmt::format("shorten {}", key)
                                             : fmt::format("write a meaningful {}", key));
    return n;
  }

  // A list of non-empty strings with at least one item.
  const YamlNode* list(std::string_view key, bool required) {
    const YamlNode* n = get(key);
    if (!n || n->is_null()) {
      if (required)
        missing(key, "a list of at least one item");
      return nullptr;
    }
    if (!n->is_sequence()) {
      wrong_type(key, *n, "a list");
      return nullptr;
    }
    if (n->items.empty())
      m_sink.error("too_small", path(key), n->mark,
                   fmt::format("{}: at least one item is required", path(key)),
                   fmt::format("add at least one entry under `{}:`", key));
    for (size_t i = 0; i < n->items.size(); ++i) {
      const YamlNode& item = n->items[i];
      auto ipath = fmt::format("{}[{}]", path(key), i);
      if (!item.is_scalar())
        m_sink.error("invalid_type", ipath, item.mark,
                     fmt::format("{} must be a string, found {}", ipath, item.describe()),
                     "write each item as one line of text");
      else if (util::js_trim(item.scalar).empty())
        m_sink.error("too_small", ipath, item.mark, fmt::format("{} is empty", ipath),
                     "remove the empty item or fill it in");
    }
    return n;
  }

  template <size_t N>
  void one_of(std::string_view key, const std::array<std::string_view, N>& allowed) {
    const YamlNode* n = get(key);
    if (!n || n->is_null())
      return;
    std::string value = n->is_scalar() ? n->scalar : std::string(n->describe());
    if (n->is_scalar() && std::find(allowed.begin(), allowed.end(), n->scalar) != allowed.end())
      return;
    m_sink.error(
        "invalid_enum_value", path(key), n->mark,
        fmt::format("{} '{}' is not one of {}", path(key), value, fmt::join(allowed, ", ")),
        fmt::format("use one of: {}", fmt::join(allowed, ", ")));
  }

  // A mapping field; returns it when present and a mapping.
  const YamlNode* mapping(std::string_view key, bool required, std::string_view what) {
    const YamlNode* n = get(key);
    if (!n || n->is_null()) {
      if (required)
        missing(key, what);
      return nullptr;
    }
    if (!n->is_mapping()) {
      wrong_type(key, *n, "a mapping");
      return nullptr;
    }
    return n;
  }

  Sink& sink() { return m_sink; }

private:
  Sink& m_sink;
  const YamlNode& m_map;
  std::string m_path;
};

bool is_semver(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    if (i == start)
      return false;
    ++parts;
    if (i == s.size())
      break;
    if (s[i] != '.')
      return false;
    ++i;
  }
  return parts == 3;
}

bool is_kebab(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-')
    return false;
  char prev = 0;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && prev == '-'))
      return false;
    prev = c;
  }
  return true;
}

void check_metadata(Sink& sink, const YamlNode& meta) {
  Fields f(sink, meta, "metadata");
  f.string("title", true, k_title_rule);
  f.one_of("priority", k_priorities);
  f.one_of("estimation", k_estimations);
  check_actor(sink, f.get("created_by"), "metadata.created_by", meta.mark);
  check_actor(sink, f.get("assignee"), "metadata.assignee", meta.mark);
  if (const YamlNode* v = f.get("schema_version"); v && !v->is_null()) {
    if (!v->is_scalar() || !is_semver(v->scalar))
      sink.error("SCHEMA_VERSION_INVALID", "metadata.schema_version", v->mark,
                 fmt::format("schema_version '{}' is not MAJOR.MINOR.PATCH",
                             v->is_scalar() ? v->scalar : std::string(v->describe())),
                 "write it quoted, e.g. schema_version: \"0.0.1\"");
  }
  const YamlNode* rel = f.get("relationships");
  if (!rel)
    sink.tolerated("invalid_type", "metadata.relationships", meta.mark,
                   "metadata.relationships is missing",
                   "add `relationships: {blocks: [], blocked_by: []}`");
  else if (!rel->is_mapping() && !rel->is_null())
    f.wrong_type("relationships", *rel, "a mapping with blocks and blocked_by");
  const YamlNode* events = f.get("events");
  if (!events || events->is_null())
    sink.error("EMPTY_EVENTS", "metadata.events", meta.mark, "metadata.events is missing",
               "add an `events:` list starting with a draft event");
  else if (!events->is_sequence())
    f.wrong_type("events", *events, "a list of events");
}

void check_scope(Sink& sink, Fields& f, const YamlNode& content) {
  const YamlNode* scope = f.get("scope");
  if (scope && scope->is_mapping()) {
    Fields s(sink, *scope, "content.scope");
    s.list("in", true);
    s.list("out", true);
    return;
  }
  const YamlNode* in = content.find("in_scope");
  const YamlNode* out = content.find("out_of_scope");
  if (scope && scope->is_scalar()) {
    sink.tolerated("SCOPE_LEGACY_FORM", "content.scope", scope->mark,
                   "content.scope is text; the schema wants `scope: {in: [...], out: [...]}`",
                   "split the text into `in:` and `out:` lists under scope");
  } else if (scope && !scope->is_null()) {
    f.wrong_type("scope", *scope, "a mapping with in and out lists");
  } else if (in || out) {
    sink.tolerated("SCOPE_LEGACY_FORM", in ? "content.in_scope" : "content.out_of_scope",
                   (in ? in : out)->mark,
                   "in_scope / out_of_scope are an older form of `scope: {in, out}`",
                   "move the lists under `scope:` as `in:` and `out:`");
  } else {
    f.missing("scope", "`in:` and `out:` lists");
  }
}

// The content keys each type's schema has (initiatives also in their older scope forms).
struct ContentKey {
  std::string_view key;
  ArtifactType type;
  bool also_milestone; // summary is an issue's and a milestone's
};
constexpr std::array<ContentKey, 9> k_content_keys = {{
    {"summary", ArtifactType::issue, true},
    {"acceptance_criteria", ArtifactType::issue, false},
    {"deliverables", ArtifactType::milestone, false},
    {"validation", ArtifactType::milestone, false},
    {"vision", ArtifactType::initiative, false},
    {"scope", ArtifactType::initiative, false},
    {"in_scope", ArtifactType::initiative, false},
    {"out_of_scope", ArtifactType::initiative, false},
    {"success_criteria", ArtifactType::initiative, false},
}};

// A content key of another type (`vision` in an issue) is dropped by upstream's reader, so
// what it says is lost there: a warning, an error with --strict. Other unknown keys pass.
void check_foreign_content(Sink& sink, const YamlNode& content, ArtifactType type) {
  for (const auto& entry : content.entries)
    for (const auto& known : k_content_keys) {
      const std::string& key = entry.key;
      if (key != known.key || known.type == type ||
          (known.also_milestone && type == ArtifactType::milestone))
        continue;
      auto owner = known.also_milestone ? std::string("issues and milestones")
                                        : fmt::format("{}s", artifact::to_string(known.type));
      sink.tolerated(
          "CONTENT_KEY_OF_OTHER_TYPE", "content." + key, entry.key_mark,
          fmt::format("content.{} belongs to {}, not to {}s; upstream drops it", key, owner,
                      artifact::to_string(type)),
          type == ArtifactType::initiative ? "initiatives say it in vision, scope and "
                                             "success_criteria; move the text there or remove it"
          : type == ArtifactType::milestone
              ? "milestones say it in summary, deliverables and validation; move the text "
                "there or remove it"
              : "issues say it in summary and acceptance_criteria; move the text there or "
                "remove it");
    }
}

void check_content(Sink& sink, const YamlNode& content, ArtifactType type) {
  Fields f(sink, content, "content");
  check_foreign_content(sink, content, type);
  switch (type) {
  case ArtifactType::issue:
    f.string("summary", true);
    f.list("acceptance_criteria", true);
    break;
  case ArtifactType::milestone:
    f.string("summary", true);
    f.list("deliverables", true);
    f.list("validation", false);
    break;
  case ArtifactType::initiative:
    f.string("vision", true);
    check_scope(sink, f, content);
    f.list("success_criteria", true);
    break;
  }
}

void check_notes(Sink& sink, const YamlNode& doc) {
  Fields f(sink, doc, "");
  const YamlNode* notes = doc.find("notes");
  if (!notes || notes->is_null())
    return;
  if (notes->is_scalar())
    f.string("notes", false);
  else if (notes->is_sequence())
    f.list("notes", false);
  else
    f.wrong_type("notes", *notes, "text or a list of text");
}

void check_challenges(Sink& sink, const YamlNode& block) {
  const YamlNode* ch = block.find("challenges");
  Fields f(sink, block, "implementation_notes");
  if (!ch || ch->is_null())
    return;
  if (!ch->is_sequence())
    return f.wrong_type("challenges", *ch, "a list of {challenge, solution}");
  if (ch->items.empty())
    sink.error("too_small", "implementation_notes.challenges", ch->mark,
               "implementation_notes.challenges: at least one item is required",
               "remove the empty list or add an entry");
  for (size_t i = 0; i < ch->items.size(); ++i) {
    const YamlNode& item = ch->items[i];
    auto path = fmt::format("implementation_notes.challenges[{}]", i);
    if (!item.is_mapping()) {
      sink.error("invalid_type", path, item.mark,
                 fmt::format("{} must be a mapping with challenge and solution", path),
                 "write `- challenge: ...` with `solution: ...`");
      continue;
    }
    Fields c(sink, item, path);
    c.string("challenge", true);
    c.string("solution", true);
  }
}

void check_completion(Sink& sink, const YamlNode& doc, ArtifactType type) {
  const auto& a = sink.artifact();
  for (std::string_view key : {"implementation_notes", "delivery_summary", "impact_summary"}) {
    const YamlNode* n = doc.find(key);
    if (!n || key == a.completion_key())
      continue;
    sink.warning(
        "UNEXPECTED_COMPLETION_BLOCK", std::string(key), n->mark,
        fmt::format("{} is not used by {}s and is ignored", key, artifact::to_string(type)),
        fmt::format("{}s record completion in {}", artifact::to_string(type), a.completion_key()));
  }
  Fields top(sink, doc, "");
  const YamlNode* block = top.mapping(a.completion_key(), false, "");
  if (!block)
    return;
  Fields f(sink, *block, std::string(a.completion_key()));
  switch (type) {
  case ArtifactType::issue: {
    f.string("result", true);
    if (const YamlNode* tags = f.list("tags", false); tags && tags->is_sequence())
      for (size_t i = 0; i < tags->items.size(); ++i)
        if (tags->items[i].is_scalar() && !is_kebab(tags->items[i].scalar))
          sink.error("invalid_string", fmt::format("implementation_notes.tags[{}]", i),
                     tags->items[i].mark,
                     fmt::format("tag '{}' is not kebab-case", tags->items[i].scalar),
                     "use lower-case words joined by '-', e.g. schema-design");
    check_challenges(sink, *block);
    f.list("insights", false);
    break;
  }
  case ArtifactType::milestone:
    f.string("outcome", true);
    f.list("delivered", true);
    f.list("deviations", false);
    f.string("next", true);
    f.list("risks", false);
    break;
  case ArtifactType::initiative:
    f.string("outcome", true);
    f.list("benefits", true);
    f.list("evidence", false);
    f.string("next", true);
    break;
  }
}

} // namespace

void check_schema(Sink& sink) {
  const auto& a = sink.artifact();
  const YamlNode& doc = a.document;
  Fields top(sink, doc, "");
  if (const YamlNode* meta = top.mapping("metadata", true, "title, actors, relationships, events"))
    check_metadata(sink, *meta);
  const char* what = a.type() == ArtifactType::initiative  ? "vision, scope and success_criteria"
                     : a.type() == ArtifactType::milestone ? "summary and deliverables"
                                                           : "summary and acceptance_criteria";
  if (const YamlNode* content = top.mapping("content", true, what))
    check_content(sink, *content, a.type());
  check_notes(sink, doc);
  check_completion(sink, doc, a.type());
}

} // namespace kb::validate
