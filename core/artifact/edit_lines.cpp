// DocumentText's line edits: whole entries and list items located, copied and replaced, as a
// three-way merge of artifact files needs them.
#include "core/artifact/edit.hpp"

#include <fmt/format.h>

namespace kb::artifact {

namespace {

util::Error not_here(std::string what) {
  return util::make_error(util::ErrorKind::failed, "cannot edit the file's lines: " + what);
}

std::string path_named(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path)
    out += (out.empty() ? "" : ".") + p;
  return out.empty() ? std::string("the document") : out;
}

} // namespace

std::string reindent(std::string_view lines, int from, int to) {
  if (from == to)
    return std::string(lines);
  std::string out;
  size_t pos = 0;
  while (pos < lines.size()) {
    auto nl = lines.find('\n', pos);
    auto line = lines.substr(pos, nl == std::string_view::npos ? lines.npos : nl - pos + 1);
    pos = nl == std::string_view::npos ? lines.size() : nl + 1;
    if (to > from) {
      bool blank = line.find_first_not_of(" \n") == std::string_view::npos;
      out += blank ? std::string() : std::string(static_cast<size_t>(to - from), ' ');
      out += line;
    } else {
      size_t drop = std::min<size_t>(static_cast<size_t>(from - to), line.find_first_not_of(' '));
      out += line.substr(drop == std::string_view::npos ? 0 : drop);
    }
  }
  return out;
}

size_t DocumentText::entry_start(const YamlNode& map, size_t i) const {
  int line = map.entries[i].key_mark.line;
  while (i > 0 && line - 1 > map.entries[i - 1].key_mark.line) {
    std::string_view above(m_text.data() + line_start(line - 1),
                           line_start(line) - line_start(line - 1));
    auto first = above.find_first_not_of(' ');
    if (first == std::string_view::npos || above[first] != '#')
      break;
    --line;
  }
  return line_start(line);
}

util::Result<DocumentText::Lines>
DocumentText::entry_lines(const std::vector<std::string>& path) const {
  if (path.empty())
    return not_here("no entry named");
  const YamlNode* map = find_path(m_root, path, path.size() - 1);
  if (!map || !map->is_mapping() || map->flow)
    return not_here(fmt::format("{} is not in a block mapping", path_named(path)));
  for (size_t i = 0; i < map->entries.size(); ++i) {
    if (map->entries[i].key != path.back())
      continue;
    size_t end = i + 1 < map->entries.size()
                     ? entry_start(*map, i + 1)
                     : block_end(*map, map->entries.front().key_mark.column - 1);
    return Lines{entry_start(*map, i), end};
  }
  return not_here(fmt::format("{} is missing", path_named(path)));
}

util::Result<DocumentText::Lines> DocumentText::item_lines(const std::vector<std::string>& path,
                                                           size_t index) const {
  const YamlNode* list = find_path(m_root, path, path.size());
  if (!list || !list->is_sequence() || list->flow || index >= list->items.size())
    return not_here(fmt::format("{} has no block item {}", path_named(path), index));
  auto start_of = [&](size_t i) { return line_start(list->items[i].mark.line); };
  size_t end = index + 1 < list->items.size() ? start_of(index + 1)
                                              : block_end(*list, list->mark.column - 1);
  return Lines{start_of(index), end};
}

util::Result<size_t> DocumentText::end_of(const std::vector<std::string>& path) const {
  const YamlNode* node = find_path(m_root, path, path.size());
  if (!node || node->flow || !(node->is_mapping() || node->is_sequence()))
    return not_here(fmt::format("{} is not a block mapping or list", path_named(path)));
  if (node->is_mapping() && node->entries.empty())
    return not_here(fmt::format("{} is empty", path_named(path)));
  int indent =
      node->is_mapping() ? node->entries.front().key_mark.column - 1 : node->mark.column - 1;
  return block_end(*node, indent);
}

util::Result<int> DocumentText::indent_at(const std::vector<std::string>& path) const {
  const YamlNode* node = find_path(m_root, path, path.size());
  if (!node || node->flow)
    return not_here(fmt::format("{} is not a block mapping or list", path_named(path)));
  if (node->is_mapping() && !node->entries.empty())
    return node->entries.front().key_mark.column - 1;
  if (node->is_sequence() && !node->items.empty())
    return node->mark.column - 1;
  return not_here(fmt::format("{} is empty", path_named(path)));
}

util::Status DocumentText::set_item(const std::vector<std::string>& path, size_t index,
                                    std::string_view value) {
  const YamlNode* list = find_path(m_root, path, path.size());
  if (!list || !list->is_sequence() || index >= list->items.size() ||
      !list->items[index].is_scalar())
    return not_here(fmt::format("{} has no value at {}", path_named(path), index));
  size_t start = offset_of(list->items[index].mark);
  size_t end = start;
  char first = start < m_text.size() ? m_text[start] : '\0';
  if (first == '"' || first == '\'') {
    for (end = start + 1; end < m_text.size() && m_text[end] != first && m_text[end] != '\n'; ++end)
      if (first == '"' && m_text[end] == '\\')
        ++end;
    if (end >= m_text.size() || m_text[end] != first)
      return not_here(fmt::format("{} item {} spans lines", path_named(path), index));
    ++end;
  } else {
    const char* stops = list->flow ? ",]\n#" : "\n#";
    end = m_text.find_first_of(stops, start);
    if (end == std::string::npos)
      end = m_text.size();
    while (end > start && m_text[end - 1] == ' ')
      --end;
  }
  return replace(start, end - start, value);
}

util::Status DocumentText::replace_lines(Lines lines, std::string_view text) {
  if (lines.begin > lines.end || lines.end > m_text.size())
    return not_here("lines out of range");
  return replace(lines.begin, lines.end - lines.begin, text);
}

} // namespace kb::artifact
