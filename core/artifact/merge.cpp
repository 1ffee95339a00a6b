#include "core/artifact/merge.hpp"

#include "core/artifact/edit.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace kb::artifact {

namespace {

using Path = std::vector<std::string>;
using nlohmann::json;

const Path k_events = {"metadata", "events"};

std::string dotted(const Path& path) {
  std::string out;
  for (const auto& p : path)
    out += (out.empty() ? "" : ".") + p;
  return out;
}

Path child(Path path, std::string key) {
  path.push_back(std::move(key));
  return path;
}

Path parent_of(Path path) {
  path.pop_back();
  return path;
}

// Equal as data: formatting, quoting and comments aside.
bool same(const YamlNode* a, const YamlNode* b) {
  if (!a || !b)
    return !a && !b;
  return a->to_json() == b->to_json();
}

std::string text_member(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What makes an event the same event on two branches: what it says happened, when, by whom.
std::string identity(const YamlNode& event) {
  auto j = event.to_json();
  if (!j.is_object())
    return j.dump();
  return text_member(j, "event") + "\x1f" + text_member(j, "timestamp") + "\x1f" +
         text_member(j, "actor") + "\x1f" + text_member(j, "trigger");
}

bool is_cascade(const json& e) {
  auto meta = e.find("metadata");
  return (meta != e.end() && meta->is_object() && meta->contains("cascade_type")) ||
         text_member(e, "actor").starts_with("agent.cascade");
}

// Two new events that stand for one: identical, or the same cascade (event, trigger and
// cascade_type) that both branches ran.
bool equivalent(const json& a, const json& b) {
  if (a == b)
    return true;
  if (!a.is_object() || !b.is_object() || !is_cascade(a) || !is_cascade(b))
    return false;
  auto type = [](const json& e) {
    auto meta = e.find("metadata");
    return meta != e.end() && meta->is_object() ? meta->value("cascade_type", json()) : json();
  };
  return text_member(a, "event") == text_member(b, "event") &&
         text_member(a, "trigger") == text_member(b, "trigger") && type(a) == type(b);
}

bool all_scalars(const YamlNode* list) {
  if (!list)
    return true;
  return std::all_of(list->items.begin(), list->items.end(),
                     [](const YamlNode& n) { return n.is_scalar() || n.is_null(); });
}

std::string with_newline(std::string text) {
  if (!text.empty() && text.back() != '\n')
    text += '\n';
  return text;
}

class Merger {
public:
  Merger(DocumentText base, DocumentText ours, DocumentText theirs, const MergeOptions& options)
      : m_base(std::move(base)), m_ours(std::move(ours)), m_theirs(std::move(theirs)),
        m_result(m_ours), m_options(options) {}

  util::Result<MergeOutcome> run() {
    KB_TRY(mapping({}, &m_base.root(), &m_ours.root(), &m_theirs.root()));
    return finish();
  }

private:
  // A place changed two ways: ours' lines stay, theirs' go next to them between markers.
  struct Conflict {
    Path path;
    std::optional<size_t> item; // a list item of `path` rather than the entry `path`
    std::string theirs;         // theirs' lines, at ours' indentation ("" when theirs removed it)
  };

  util::Status mapping(const Path& path, const YamlNode* b, const YamlNode* o, const YamlNode* t) {
    std::vector<std::string> keys;
    for (const auto& e : o->entries)
      keys.push_back(e.key);
    for (const auto& e : t->entries)
      if (!o->find(e.key))
        keys.push_back(e.key);
    for (const auto& key : keys) {
      const YamlNode* bv = b && b->is_mapping() ? b->find(key) : nullptr;
      const YamlNode* ov = o->find(key);
      const YamlNode* tv = t->find(key);
      auto p = child(path, key);
      if (same(tv, bv) || same(ov, tv))
        continue; // theirs left it alone, or both made the same change
      if (same(ov, bv)) {
        KB_TRY(take_theirs(p, ov != nullptr, tv != nullptr));
        continue;
      }
      util::Status st = util::ok_status();
      if (p == k_events && ov && tv && ov->is_sequence() && tv->is_sequence())
        st = events(bv, *ov, *tv);
      else if (ov && tv && ov->is_mapping() && tv->is_mapping() && !ov->flow && !tv->flow)
        st = mapping(p, bv, ov, tv);
      else if (ov && tv && ov->is_sequence() && tv->is_sequence())
        st = list(p, bv, *ov, *tv);
      else
        st = conflict(p, tv != nullptr);
      if (!st)
        return st;
    }
    return util::ok_status();
  }

  // Theirs' version of the entry `p` (or its removal), as theirs wrote it.
  util::Status take_theirs(const Path& p, bool in_ours, bool in_theirs) {
    m_merged.push_back(dotted(p));
    if (!in_theirs) {
      auto lines = m_result.entry_lines(p);
      return lines ? m_result.replace_lines(*lines, "") : lines.error();
    }
    auto text = theirs_entry(p);
    KB_TRY(text);
    if (in_ours) {
      auto lines = m_result.entry_lines(p);
      return lines ? m_result.replace_lines(*lines, *text) : lines.error();
    }
    auto at = m_result.end_of(parent_of(p));
    KB_TRY(at);
    std::string before = *at > 0 && m_result.normalized_text()[*at - 1] != '\n' ? "\n" : "";
    return m_result.replace_lines({*at, *at}, before + *text);
  }

  // Theirs' lines of the entry `p`, at the indentation ours uses there.
  util::Result<std::string> theirs_entry(const Path& p) {
    auto lines = m_theirs.entry_lines(p);
    KB_TRY(lines);
    auto from = m_theirs.indent_at(parent_of(p));
    auto to = m_result.indent_at(parent_of(p));
    std::string text = with_newline(std::string(m_theirs.text_of(*lines)));
    return from && to ? reindent(text, *from, *to) : text;
  }

  // Theirs' lines of item `i` of the list `p`, at ours' indentation.
  util::Result<std::string> theirs_item(const Path& p, size_t i) {
    auto lines = m_theirs.item_lines(p, i);
    KB_TRY(lines);
    auto from = m_theirs.indent_at(p);
    auto to = m_result.indent_at(p);
    std::string text = with_newline(std::string(m_theirs.text_of(*lines)));
    return from && to ? reindent(text, *from, *to) : text;
  }

  util::Status conflict(const Path& p, bool in_theirs) {
    std::string theirs;
    if (in_theirs) {
      auto text = theirs_entry(p);
      KB_TRY(text);
      theirs = std::move(*text);
    }
    m_conflicts.push_back({p, std::nullopt, std::move(theirs)});
    return util::ok_status();
  }

  // Lists changed on both sides: ordered sets (blocking dependencies: one per artifact).
  util::Status list(const Path& p, const YamlNode* b, const YamlNode& o, const YamlNode& t) {
    m_merged.push_back(dotted(p));
    if (!p.empty() && p.back() == "blocking_dependencies")
      return dependencies(p, o, t);
    auto in = [](const YamlNode* list, const json& v) {
      return list && std::any_of(list->items.begin(), list->items.end(),
                                 [&](const YamlNode& n) { return n.to_json() == v; });
    };
    if (all_scalars(b) && all_scalars(&o) && all_scalars(&t)) {
      if (b)
        for (const auto& item : b->items)
          if (item.is_scalar() && !in(&t, item.to_json()))
            KB_TRY(m_result.remove_from_list(p, item.scalar));
      for (const auto& item : t.items)
        if (item.is_scalar() && !in(b, item.to_json()) && !in(&o, item.to_json()))
          KB_TRY(m_result.add_to_list(p, item.scalar));
      return util::ok_status();
    }
    // Lists of mappings: items by value; theirs' new ones copied as theirs wrote them.
    if (b)
      for (const auto& item : b->items) {
        if (in(&t, item.to_json()))
          continue;
        const YamlNode* now = find_path(m_result.root(), p, p.size());
        for (size_t i = 0; now && i < now->items.size(); ++i)
          if (now->items[i].to_json() == item.to_json()) {
            auto lines = m_result.item_lines(p, i);
            KB_TRY(lines);
            KB_TRY(m_result.replace_lines(*lines, ""));
            break;
          }
      }
    for (size_t i = 0; i < t.items.size(); ++i) {
      auto v = t.items[i].to_json();
      if (in(b, v) || in(&o, v))
        continue;
      KB_TRY(append_item(p, i));
    }
    return util::ok_status();
  }

  util::Status append_item(const Path& p, size_t theirs_index) {
    auto text = theirs_item(p, theirs_index);
    KB_TRY(text);
    auto at = m_result.end_of(p);
    KB_TRY(at);
    return m_result.replace_lines({*at, *at}, *text);
  }

  // A blocked event's dependencies: each one resolved where either side resolved it.
  util::Status dependencies(const Path& p, const YamlNode& o, const YamlNode& t) {
    for (size_t ti = 0; ti < t.items.size(); ++ti) {
      auto theirs = t.items[ti].to_json();
      auto id = theirs.is_object() ? text_member(theirs, "artifact_id") : std::string();
      std::optional<size_t> mine;
      for (size_t oi = 0; oi < o.items.size(); ++oi) {
        auto ours = o.items[oi].to_json();
        if (ours.is_object() && text_member(ours, "artifact_id") == id)
          mine = oi;
      }
      if (!mine) {
        KB_TRY(append_item(p, ti));
        continue;
      }
      auto ours = o.items[*mine].to_json();
      if (theirs.value("resolved", json(false)) == true &&
          ours.value("resolved", json(false)) != true) {
        auto text = theirs_item(p, ti);
        auto lines = m_result.item_lines(p, *mine);
        if (!text || !lines)
          return !text ? text.error() : lines.error();
        KB_TRY(m_result.replace_lines(*lines, *text));
      }
    }
    return util::ok_status();
  }

  // The histories: edits of the events both had, then the union of the new ones by time.
  util::Status events(const YamlNode* b, const YamlNode& o, const YamlNode& t) {
    m_merged.push_back(dotted(k_events));
    size_t n = b && b->is_sequence() ? b->items.size() : 0;
    bool shared = o.items.size() >= n && t.items.size() >= n;
    for (size_t i = 0; shared && i < n; ++i)
      shared = identity(o.items[i]) == identity(b->items[i]) &&
               identity(t.items[i]) == identity(b->items[i]);
    if (!shared) // a side rewrote history: nothing to line up
      return conflict(k_events, true);
    for (size_t i = 0; i < n; ++i) {
      const YamlNode &bi = b->items[i], &oi = o.items[i], &ti = t.items[i];
      if (same(&ti, &bi) || same(&oi, &ti))
        continue;
      auto p = child(k_events, std::to_string(i));
      util::Status st = util::ok_status();
      if (same(&oi, &bi)) {
        auto text = theirs_item(k_events, i);
        auto lines = m_result.item_lines(k_events, i);
        st = text && lines ? m_result.replace_lines(*lines, *text)
                           : util::Status(!text ? text.error() : lines.error());
      } else if (oi.is_mapping() && ti.is_mapping()) {
        st = mapping(p, &bi, &oi, &ti);
      } else {
        auto text = theirs_item(k_events, i);
        KB_TRY(text);
        m_conflicts.push_back({k_events, i, std::move(*text)});
      }
      if (!st)
        return st;
    }
    return new_events(n, o, t);
  }

  struct NewEvent {
    json value;
    std::string timestamp;
    bool theirs;
    size_t index; // in its own side's list
  };

  util::Status new_events(size_t n, const YamlNode& o, const YamlNode& t) {
    std::vector<NewEvent> ours, theirs;
    for (size_t i = n; i < o.items.size(); ++i) {
      auto v = o.items[i].to_json();
      ours.push_back({v, text_member(v, "timestamp"), false, i});
    }
    for (size_t i = n; i < t.items.size(); ++i) {
      auto v = t.items[i].to_json();
      theirs.push_back({v, text_member(v, "timestamp"), true, i});
    }
    if (theirs.empty())
      return util::ok_status();
    // The same event on both sides is kept once: the earlier of the two.
    std::vector<bool> matched(ours.size(), false);
    std::vector<NewEvent> only_theirs;
    bool replaced = false;
    for (auto& e : theirs) {
      auto twin = std::find_if(ours.begin(), ours.end(), [&](const NewEvent& mine) {
        return !matched[static_cast<size_t>(&mine - ours.data())] &&
               equivalent(mine.value, e.value);
      });
      if (twin == ours.end()) {
        only_theirs.push_back(e);
        continue;
      }
      matched[static_cast<size_t>(twin - ours.begin())] = true;
      if (e.timestamp < twin->timestamp) {
        *twin = e;
        replaced = true;
      }
    }
    std::vector<NewEvent> all = ours;
    all.insert(all.end(), only_theirs.begin(), only_theirs.end());
    std::stable_sort(all.begin(), all.end(), [](const NewEvent& a, const NewEvent& b) {
      return a.timestamp < b.timestamp;
    });
    bool ours_first = !replaced;
    for (size_t i = 0; ours_first && i < ours.size(); ++i)
      ours_first = !all[i].theirs && all[i].index == ours[i].index;
    if (all.size() == ours.size() && ours_first)
      return util::ok_status(); // theirs' new events were all ours too
    // Ours' list may not be a block list yet (`events: []`): events then go in one by one.
    auto end = m_result.end_of(k_events);
    if (!end || o.flow) {
      for (const auto& e : all)
        if (e.theirs)
          KB_TRY(m_result.append_event(t.items[e.index]));
      return util::ok_status();
    }
    size_t from = 0;
    std::string text;
    if (ours_first) {
      from = *end;
      all.erase(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(ours.size()));
    } else {
      auto first = ours.empty() ? util::Result<DocumentText::Lines>(DocumentText::Lines{*end, *end})
                                : m_result.item_lines(k_events, n);
      KB_TRY(first);
      from = first->begin;
    }
    for (const auto& e : all) {
      if (e.theirs) {
        auto item = theirs_item(k_events, e.index);
        KB_TRY(item);
        text += *item;
      } else {
        auto lines = m_result.item_lines(k_events, e.index);
        KB_TRY(lines);
        text += with_newline(std::string(m_result.text_of(*lines)));
      }
    }
    std::string before = from > 0 && m_result.normalized_text()[from - 1] != '\n' ? "\n" : "";
    return m_result.replace_lines({from, *end}, before + text);
  }

  util::Result<MergeOutcome> finish() {
    MergeOutcome out;
    out.merged = std::move(m_merged);
    std::string text = m_result.normalized_text();
    // Markers go in last (the text no longer parses after them), the last place first so the
    // offsets of the others still hold.
    struct Splice {
      DocumentText::Lines lines;
      std::string text;
    };
    std::vector<Splice> splices;
    std::string open(static_cast<size_t>(m_options.marker_size), '<'),
        middle(static_cast<size_t>(m_options.marker_size), '='),
        close(static_cast<size_t>(m_options.marker_size), '>');
    for (const auto& c : m_conflicts) {
      auto lines = c.item ? m_result.item_lines(c.path, *c.item) : m_result.entry_lines(c.path);
      DocumentText::Lines at;
      if (lines) {
        at = *lines;
      } else if (auto end = m_result.end_of(parent_of(c.path)); end) {
        at = {*end, *end}; // ours removed it: the markers go where it would be
      } else {
        return end.error();
      }
      std::string ours = with_newline(std::string(m_result.text_of(at)));
      if (ours == "\n")
        ours.clear();
      splices.push_back({at, open + " " + m_options.ours_label + "\n" + ours + middle + "\n" +
                                 c.theirs + close + " " + m_options.theirs_label + "\n"});
      out.conflicts.push_back(dotted(c.item ? child(c.path, std::to_string(*c.item)) : c.path));
    }
    std::sort(splices.begin(), splices.end(),
              [](const Splice& a, const Splice& b) { return a.lines.begin > b.lines.begin; });
    for (const auto& s : splices) {
      std::string before = s.lines.begin > 0 && text[s.lines.begin - 1] != '\n' ? "\n" : "";
      text.replace(s.lines.begin, s.lines.end - s.lines.begin, before + s.text);
    }
    out.text = restore_source(text, m_result.has_bom(), m_result.has_crlf());
    return out;
  }

  DocumentText m_base, m_ours, m_theirs, m_result;
  MergeOptions m_options;
  std::vector<Conflict> m_conflicts;
  std::vector<std::string> m_merged;
};

util::Result<DocumentText> parse_side(std::string_view text, const char* side) {
  auto doc = DocumentText::parse(std::string(text));
  if (!doc)
    return util::make_error(util::ErrorKind::failed,
                            fmt::format("{} does not parse: {}", side, doc.error().message));
  return doc;
}

bool marker_line(std::string_view line, char c) {
  return line.size() >= 7 && line.find_first_not_of(c) >= 7 &&
         (line.size() == 7 || line[7] == ' ' || line[7] == c);
}

} // namespace

util::Result<MergeOutcome> merge_artifact_texts(std::string_view base, std::string_view ours,
                                                std::string_view theirs,
                                                const MergeOptions& options) {
  auto o = parse_side(ours, "ours");
  KB_TRY(o);
  auto t = parse_side(theirs, "theirs");
  KB_TRY(t);
  // Both added the file, or the base is not a document of ours: merged as if there were none.
  auto b = DocumentText::parse(std::string(base));
  if (!b)
    b = DocumentText::parse("{}\n");
  KB_TRY(b);
  return Merger(std::move(*b), std::move(*o), std::move(*t), options).run();
}

bool has_conflict_markers(std::string_view text) {
  bool open = false;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (marker_line(line, '<'))
      open = true;
    else if (open && marker_line(line, '>'))
      return true;
  }
  return false;
}

ConflictSides split_conflict(std::string_view text) {
  ConflictSides out;
  enum { both, ours, base, theirs } at = both;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos + 1);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto bare = line.substr(0, line.find_first_of("\r\n"));
    if (marker_line(bare, '<')) {
      at = ours;
    } else if (at == ours && marker_line(bare, '|')) {
      at = base;
    } else if ((at == ours || at == base) && bare.size() >= 7 &&
               bare.find_first_not_of('=') == std::string_view::npos) {
      at = theirs;
    } else if (at == theirs && marker_line(bare, '>')) {
      at = both;
    } else {
      if (at == both || at == ours)
        out.ours += line;
      if (at == both || at == theirs)
        out.theirs += line;
      if (at == both || at == base)
        out.base += line;
    }
  }
  return out;
}

} // namespace kb::artifact
