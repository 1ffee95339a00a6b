#include "core/artifact/edit.hpp"

#include "core/artifact/model.hpp"
#include "core/artifact/writer.hpp"
#include "core/util/file.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace kb::artifact {

namespace {

util::Error cannot(std::string what) {
  return util::make_error(util::ErrorKind::failed, "cannot edit the file in place: " + what);
}

// Indentation of the keys of a block mapping: its position's column minus one.
int indent_of(const YamlNode& n) {
  return n.mark.column > 0 ? n.mark.column - 1 : 0;
}

// The `blocking_dependencies` list of event `event_index` of a parsed artifact, if it has one.
const YamlNode* blocking_dependencies_of(const YamlNode& root, size_t event_index) {
  const YamlNode* meta = root.find("metadata");
  const YamlNode* events = meta ? meta->find("events") : nullptr;
  if (!events || event_index >= events->items.size())
    return nullptr;
  const YamlNode* em = events->items[event_index].find("metadata");
  return em ? em->find("blocking_dependencies") : nullptr;
}

} // namespace

util::Result<DocumentText*> EditSet::doc(const std::filesystem::path& path) {
  auto it = m_docs.find(path);
  if (it != m_docs.end())
    return &it->second;
  auto text = util::read_file(path);
  KB_TRY(text);
  auto parsed = DocumentText::parse(std::move(*text));
  KB_TRY(parsed);
  return &m_docs.emplace(path, std::move(*parsed)).first->second;
}

std::map<std::filesystem::path, std::string> EditSet::texts() const {
  std::map<std::filesystem::path, std::string> out;
  for (const auto& [path, d] : m_docs)
    out[path] = d.text();
  return out;
}

const YamlNode* find_path(const YamlNode& root, const std::vector<std::string>& path,
                          size_t count) {
  const YamlNode* n = &root;
  for (size_t i = 0; i < count && n; ++i) {
    const auto& seg = path[i];
    if (n->is_sequence() && !seg.empty() &&
        seg.find_first_not_of("0123456789") == std::string::npos) {
      size_t at = std::stoul(seg);
      n = at < n->items.size() ? &n->items[at] : nullptr;
    } else {
      n = n->find(seg);
    }
  }
  return n;
}

std::string event_lines(const YamlNode& event, int dash_indent) {
  // The canonical writer lays out a one-item events list; take its item lines and re-indent.
  YamlNode events;
  events.kind = YamlNode::Kind::sequence;
  events.items.push_back(event);
  YamlNode meta;
  meta.kind = YamlNode::Kind::mapping;
  meta.entries.push_back(MapEntry{"events", {}, std::move(events)});
  YamlNode doc;
  doc.kind = YamlNode::Kind::mapping;
  doc.entries.push_back(MapEntry{"metadata", {}, std::move(meta)});
  std::string text = write_canonical(doc);
  // Lines after "metadata:\n  events:\n" are indented by 4 for the dash.
  auto body = text.substr(text.find("\n", text.find("events:")) + 1);
  std::string out, pad(static_cast<size_t>(dash_indent), ' ');
  size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find('\n', pos);
    auto line = body.substr(pos, nl - pos);
    out += pad + line.substr(std::min<size_t>(4, line.find_first_not_of(' '))) + "\n";
    pos = nl + 1;
  }
  return out;
}

util::Result<DocumentText> DocumentText::parse(std::string text) {
  auto source = normalize_source(text);
  return parse_normalized(std::move(source.text), source.bom, source.crlf);
}

util::Result<DocumentText> DocumentText::parse_normalized(std::string text, bool bom, bool crlf) {
  auto root = parse_yaml(text);
  KB_TRY(root);
  if (!root->is_mapping())
    return util::make_error(util::ErrorKind::failed, "the artifact file is not a mapping");
  DocumentText doc(std::move(text), std::move(*root));
  doc.m_bom = bom;
  doc.m_crlf = crlf;
  return doc;
}

util::Status DocumentText::append_text(std::string_view yaml) {
  std::string tail = !m_text.empty() && m_text.back() != '\n' ? "\n" : "";
  return replace(m_text.size(), 0, tail + std::string(yaml));
}

DocumentText::DocumentText(std::string text, YamlNode root)
    : m_text(std::move(text)), m_root(std::move(root)) {
  m_lines.push_back(0);
  for (size_t i = 0; i < m_text.size(); ++i)
    if (m_text[i] == '\n')
      m_lines.push_back(i + 1);
}

size_t DocumentText::line_start(int line) const {
  auto i = static_cast<size_t>(line - 1);
  return i < m_lines.size() ? m_lines[i] : m_text.size();
}

size_t DocumentText::offset_of(Mark m) const {
  return line_start(m.line) + static_cast<size_t>(m.column - 1);
}

util::Status DocumentText::replace(size_t offset, size_t length, std::string_view with) {
  std::string next = m_text;
  next.replace(offset, length, with);
  auto reparsed = DocumentText::parse_normalized(std::move(next), m_bom, m_crlf);
  if (!reparsed)
    return cannot("the edited text would not parse (" + reparsed.error().message + ")");
  *this = std::move(*reparsed);
  return util::ok_status();
}

// The offset just past the last line that belongs to `node` (a block starting at its mark,
// whose lines are indented at least `indent`), comments and blank lines after it excluded.
size_t DocumentText::block_end(const YamlNode& node, int indent) const {
  int last = node.mark.line;
  bool sequence_at_key_indent = node.is_sequence();
  for (int line = node.mark.line + 1; line <= static_cast<int>(m_lines.size()); ++line) {
    size_t start = line_start(line);
    size_t end = m_text.find('\n', start);
    std::string_view text(m_text.data() + start,
                          (end == std::string::npos ? m_text.size() : end) - start);
    auto first = text.find_first_not_of(' ');
    if (first == std::string_view::npos || text[first] == '#')
      continue;
    int col = static_cast<int>(first);
    if (col < indent || (col == indent && sequence_at_key_indent && text[first] != '-'))
      break;
    last = line;
  }
  size_t end = m_text.find('\n', line_start(last));
  return end == std::string::npos ? m_text.size() : end + 1;
}

util::Status DocumentText::insert_entry(const YamlNode& map, int indent, std::string_view key,
                                        std::string_view value_text) {
  size_t at = block_end(map, indent);
  std::string line = std::string(static_cast<size_t>(indent), ' ') + std::string(key) + ": " +
                     std::string(value_text) + "\n";
  if (at > 0 && m_text[at - 1] != '\n')
    line.insert(line.begin(), '\n');
  return replace(at, 0, line);
}

util::Result<bool> DocumentText::reorder_keys(const std::vector<std::string>& path,
                                              std::span<const std::string_view> order) {
  const YamlNode* map = &m_root;
  for (const auto& key : path)
    if (map = map->find(key); !map)
      return false;
  if (!map->is_mapping() || map->flow || map->entries.size() < 2)
    return false;
  auto want = canonical_positions(*map, order);
  if (std::is_sorted(want.begin(), want.end()))
    return false;
  int indent = map->entries.front().key_mark.column - 1;
  for (const auto& e : map->entries)
    if (e.key_mark.column - 1 != indent)
      return cannot("its keys are not all at one indentation");
  // Entry i owns the lines from its key (or the comments just above it) to the next entry's.
  std::vector<size_t> starts;
  for (size_t i = 0; i < map->entries.size(); ++i) {
    int line = map->entries[i].key_mark.line;
    while (i > 0 && line - 1 > map->entries[i - 1].key_mark.line) {
      std::string_view above(m_text.data() + line_start(line - 1),
                             line_start(line) - line_start(line - 1));
      auto first = above.find_first_not_of(' ');
      if (first == std::string_view::npos || above[first] != '#')
        break;
      --line;
    }
    starts.push_back(line_start(line));
  }
  size_t end = block_end(*map, indent);
  starts.push_back(end);
  std::string moved;
  for (size_t i : want) {
    std::string_view piece(m_text.data() + starts[i], starts[i + 1] - starts[i]);
    moved += piece;
    if (!piece.empty() && piece.back() != '\n')
      moved += '\n';
  }
  if (end > 0 && m_text[end - 1] != '\n' && !moved.empty())
    moved.pop_back(); // the region ended the file without a newline; so does its new text
  auto before = m_root.to_json();
  DocumentText saved = *this;
  KB_TRY(replace(starts.front(), end - starts.front(), moved));
  if (m_root.to_json() != before) {
    *this = std::move(saved);
    return cannot("moving its keys would change the data");
  }
  return true;
}

util::Status DocumentText::append_event(const YamlNode& event) {
  const YamlNode* meta = m_root.find("metadata");
  if (!meta || !meta->is_mapping())
    return cannot("metadata is missing");
  const YamlNode* events = meta->find("events");
  if (events && events->is_sequence() && !events->flow && !events->items.empty()) {
    int dash = indent_of(*events);
    return replace(block_end(*events, dash), 0, event_lines(event, dash));
  }
  // No block list yet (`events: []`, empty or missing): write one under the key.
  int key_indent = indent_of(*meta);
  std::string block = event_lines(event, key_indent + 2);
  if (!events)
    return replace(block_end(*meta, key_indent), 0,
                   std::string(static_cast<size_t>(key_indent), ' ') + "events:\n" + block);
  if (events->is_sequence() && !events->items.empty())
    return cannot("metadata.events is a flow list with items");
  // Drop the `[]` (or nothing) after `events:` and put the block on the following lines.
  const MapEntry* entry = nullptr;
  for (const auto& e : meta->entries)
    if (e.key == "events")
      entry = &e;
  size_t key_at = offset_of(entry->key_mark);
  size_t eol = m_text.find('\n', key_at);
  eol = eol == std::string::npos ? m_text.size() : eol;
  std::string head = std::string("events:\n");
  return replace(key_at, eol - key_at + (eol < m_text.size() ? 1 : 0), head + block);
}

util::Status DocumentText::set_scalar_in(const YamlNode& parent, int parent_indent,
                                         std::string_view key, std::string_view value, bool plain) {
  const YamlNode* node = parent.find(key);
  std::string text = plain ? std::string(value) : yaml_scalar(value, true);
  if (!node)
    return insert_entry(parent, parent_indent, key, text);
  if (!node->is_scalar() && !node->is_null())
    return cannot(fmt::format("{} is not a single value", key));
  size_t start = offset_of(node->mark);
  size_t eol = m_text.find('\n', start);
  eol = eol == std::string::npos ? m_text.size() : eol;
  size_t end = start;
  if (node->is_null()) {
    // `key:` with nothing after it: write the value right after the colon.
    for (const auto& e : parent.entries)
      if (e.key == key) {
        size_t key_at = offset_of(e.key_mark);
        size_t colon = m_text.find(':', key_at);
        return replace(colon + 1, 0, " " + text);
      }
  }
  char first = m_text[start];
  if (first == '"' || first == '\'') {
    end = start + 1;
    while (end < eol && !(m_text[end] == first && !(first == '"' && m_text[end - 1] == '\\')))
      ++end;
    if (end >= eol)
      return cannot(fmt::format("{} spans several lines", key));
    ++end;
    if (!plain && first == '\'')
      text = "'" + [&] {
        std::string s;
        for (char c : value)
          s += c == '\'' ? std::string("''") : std::string(1, c);
        return s;
      }() + "'";
  } else if (first == '|' || first == '>') {
    return cannot(fmt::format("{} is a block scalar", key));
  } else {
    auto comment = m_text.find(" #", start);
    end = comment != std::string::npos && comment < eol ? comment : eol;
    while (end > start && m_text[end - 1] == ' ')
      --end;
    if (!plain && !node->quoted)
      text = yaml_scalar(value, false); // keep plain style where it stays readable
  }
  return replace(start, end - start, text);
}

util::Status DocumentText::set_scalar(const std::vector<std::string>& path, std::string_view value,
                                      bool plain) {
  if (path.empty())
    return cannot("empty path");
  if (const YamlNode* parent = find_path(m_root, path, path.size() - 1)) {
    if (!parent->is_mapping())
      return cannot(fmt::format("{} has no mapping to hold it", path.back()));
    return set_scalar_in(*parent, indent_of(*parent), path.back(), value, plain);
  }
  // The deepest mapping on the path that exists; the missing ones below it are created.
  const YamlNode* parent = &m_root;
  size_t depth = 0;
  for (; depth + 1 < path.size(); ++depth) {
    const YamlNode* next = find_path(*parent, {path[depth]}, 1);
    if (!next)
      break;
    parent = next;
  }
  if (!parent->is_mapping())
    return cannot(fmt::format("{} has no mapping to hold it", path.back()));
  int indent = indent_of(*parent);
  std::string block;
  for (size_t i = depth; i < path.size(); ++i) {
    block += std::string(static_cast<size_t>(indent + 2 * static_cast<int>(i - depth)), ' ') +
             path[i] + ":";
    block += i + 1 < path.size()
                 ? "\n"
                 : " " + (plain ? std::string(value) : yaml_scalar(value, true)) + "\n";
  }
  size_t at = block_end(*parent, indent);
  if (at > 0 && m_text[at - 1] != '\n')
    block.insert(block.begin(), '\n');
  return replace(at, 0, block);
}

util::Result<size_t> DocumentText::flow_list_close(const YamlNode& list,
                                                   std::string_view name) const {
  size_t close = m_text.find(']', offset_of(list.mark));
  if (close == std::string::npos)
    return cannot(fmt::format("{} is a flow list spanning lines", name));
  return close;
}

util::Status DocumentText::add_to_list(const std::vector<std::string>& path,
                                       std::string_view value) {
  const YamlNode* parent = find_path(m_root, path, path.size() - 1);
  if (!parent || !parent->is_mapping())
    return cannot(fmt::format("{} has no mapping to hold it", path.back()));
  const YamlNode* list = parent->find(path.back());
  std::string item = yaml_scalar(value, false);
  if (!list || list->is_null()) {
    if (list)
      return set_scalar_in(*parent, indent_of(*parent), path.back(), "[" + item + "]", true);
    return insert_entry(*parent, indent_of(*parent), path.back(), "[" + item + "]");
  }
  if (!list->is_sequence())
    return cannot(fmt::format("{} is not a list", path.back()));
  for (const auto& existing : list->items)
    if (existing.is_scalar() && existing.scalar == value)
      return util::ok_status();
  if (list->flow) {
    auto close = flow_list_close(*list, path.back());
    KB_TRY(close);
    return replace(*close, 0, list->items.empty() ? item : ", " + item);
  }
  int dash = indent_of(*list);
  return replace(block_end(*list, dash), 0,
                 std::string(static_cast<size_t>(dash), ' ') + "- " + item + "\n");
}

util::Status DocumentText::remove_from_list(const std::vector<std::string>& path,
                                            std::string_view value) {
  const YamlNode* list = find_path(m_root, path, path.size());
  if (!list || !list->is_sequence())
    return util::ok_status();
  size_t index = list->items.size();
  for (size_t i = 0; i < list->items.size(); ++i)
    if (list->items[i].is_scalar() && list->items[i].scalar == value)
      index = i;
  if (index == list->items.size())
    return util::ok_status();
  if (list->flow) {
    auto close = flow_list_close(*list, path.back());
    KB_TRY(close);
    size_t open = offset_of(list->mark);
    std::string items;
    for (size_t i = 0; i < list->items.size(); ++i)
      if (i != index)
        items +=
            (items.empty() ? "" : ", ") + yaml_scalar(list->items[i].scalar, list->items[i].quoted);
    return replace(open + 1, *close - open - 1, items);
  }
  if (list->items.size() == 1)
    return cannot(fmt::format("removing the last item of block list {}", path.back()));
  // A block item is one line: `- value`.
  size_t start = line_start(list->items[index].mark.line);
  size_t end = m_text.find('\n', start);
  return replace(start, (end == std::string::npos ? m_text.size() : end + 1) - start, "");
}

util::Status DocumentText::resolve_blocking_dependency(size_t event_index,
                                                       std::string_view artifact_id,
                                                       std::string_view resolved_at) {
  const YamlNode* deps = blocking_dependencies_of(m_root, event_index);
  if (!deps || !deps->is_sequence())
    return cannot("the event has no blocking_dependencies");
  for (size_t i = 0; i < deps->items.size(); ++i) {
    const YamlNode& d = deps->items[i];
    if (!d.is_mapping() || scalar_text(d.find("artifact_id")) != artifact_id)
      continue;
    if (d.flow)
      return cannot("the blocking dependency is written in flow style");
    int indent = indent_of(d);
    KB_TRY(set_scalar_in(d, indent, "resolved", "true", true));
    // Positions moved: look the entry up again before adding the time.
    const YamlNode& again = blocking_dependencies_of(m_root, event_index)->items[i];
    return set_scalar_in(again, indent, "resolved_at", resolved_at, false);
  }
  return cannot(fmt::format("{} is not among the blocking dependencies", artifact_id));
}

util::Status DocumentText::add_blocking_dependency(size_t event_index,
                                                   std::string_view artifact_id) {
  const YamlNode* deps = blocking_dependencies_of(m_root, event_index);
  if (!deps || !deps->is_sequence() || deps->flow || deps->items.empty())
    return cannot("the event has no block list of blocking_dependencies");
  for (const auto& d : deps->items)
    if (d.is_mapping() && scalar_text(d.find("artifact_id")) == artifact_id) {
      if (scalar_text(d.find("resolved")) != "true")
        return util::ok_status();
      return cannot(fmt::format("{} is tracked as resolved already", artifact_id));
    }
  int dash = indent_of(*deps);
  std::string pad(static_cast<size_t>(dash), ' ');
  return replace(block_end(*deps, dash), 0,
                 fmt::format("{}- artifact_id: {}\n{}  resolved: false\n", pad,
                             yaml_scalar(artifact_id, false), pad));
}

} // namespace kb::artifact
