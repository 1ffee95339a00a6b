#pragma once

#include "core/artifact/yaml.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kb::artifact {

// Edits an artifact file's text in place: each operation changes only the lines it must, so
// comments, quoting, key order, folded scalars and unknown keys elsewhere stay byte-identical
// and `git diff` shows just the change. After every edit the text is parsed again; an edit
// that cannot be made safely fails and leaves the text as it was.
class DocumentText {
public:
  // Fails when `text` does not parse or is not a mapping. A byte order mark and CRLF line
  // ends are kept: text() gives them back (see normalize_source).
  static util::Result<DocumentText> parse(std::string text);

  // The text as its file holds it.
  std::string text() const { return restore_source(m_text, m_bom, m_crlf); }
  const YamlNode& root() const { return m_root; }

  // Appends YAML text (LF line ends) at the end of the document, on a line of its own.
  util::Status append_text(std::string_view yaml);

  // Appends an event (a mapping) to metadata.events, in block style at the list's indentation.
  util::Status append_event(const YamlNode& event);

  // Sets the scalar at `path` (mapping keys from the root; digits index lists), keeping its
  // quoting style; a missing key is added at the end of its mapping, with any missing
  // mappings above it. `plain` writes an unquoted word (enum
  // values, booleans, IDs).
  util::Status set_scalar(const std::vector<std::string>& path, std::string_view value, bool plain);

  // Adds `value` to the list at `path`, in the list's own style (flow or block); creates
  // `key: [value]` when the key is missing. Nothing changes when the value is already there.
  util::Status add_to_list(const std::vector<std::string>& path, std::string_view value);

  // Replaces item `index` of the list at `path` (a scalar on one line, block or flow) with the
  // plain word `value` (an ID), keeping the rest of the line.
  util::Status set_item(const std::vector<std::string>& path, size_t index, std::string_view value);

  // Removes `value` from the list at `path`; nothing changes when it is not there.
  util::Status remove_from_list(const std::vector<std::string>& path, std::string_view value);

  // Puts the entries of the block mapping at `path` (empty: the root) in canonical order for
  // `order` (see canonical_positions). Each entry moves whole, with the comment lines directly
  // above its key, so its text stays byte-identical. Returns whether anything moved.
  util::Result<bool> reorder_keys(const std::vector<std::string>& path,
                                  std::span<const std::string_view> order);

  // Marks the `blocking_dependencies` entry for `artifact_id` of event `event_index` resolved,
  // with its resolution time.
  util::Status resolve_blocking_dependency(size_t event_index, std::string_view artifact_id,
                                           std::string_view resolved_at);
  // Adds an unresolved `blocking_dependencies` entry for `artifact_id` to event `event_index`
  // (nothing when it is tracked unresolved already).
  util::Status add_blocking_dependency(size_t event_index, std::string_view artifact_id);

  // Whole lines of the text: the byte offsets [begin, end). (Line edits, for merges.)
  struct Lines {
    size_t begin = 0, end = 0;
  };
  // The lines of the block mapping entry at `path` (mapping keys; digits index lists): the
  // key's line with the comment lines right above it and the value's lines. Fails for flow
  // mappings and missing keys.
  util::Result<Lines> entry_lines(const std::vector<std::string>& path) const;
  // The lines of item `index` of the block list at `path`.
  util::Result<Lines> item_lines(const std::vector<std::string>& path, size_t index) const;
  // Where new entries of the block mapping (or items of the block list) at `path` go: just past
  // its last line.
  util::Result<size_t> end_of(const std::vector<std::string>& path) const;
  // The column of the keys of the block mapping (or the dashes of the block list) at `path`.
  util::Result<int> indent_at(const std::vector<std::string>& path) const;
  std::string_view text_of(Lines lines) const {
    return std::string_view(m_text).substr(lines.begin, lines.end - lines.begin);
  }
  // Replaces `lines` with `text` (whole lines, each ending in a newline); refused when the
  // result would not parse.
  util::Status replace_lines(Lines lines, std::string_view text);
  // The text with LF line ends and no byte order mark, as the offsets above count it, and how
  // the file had them.
  const std::string& normalized_text() const { return m_text; }
  bool has_bom() const { return m_bom; }
  bool has_crlf() const { return m_crlf; }

private:
  DocumentText(std::string text, YamlNode root);
  static util::Result<DocumentText> parse_normalized(std::string text, bool bom, bool crlf);
  util::Status replace(size_t offset, size_t length, std::string_view with);
  util::Status insert_entry(const YamlNode& map, int indent, std::string_view key,
                            std::string_view value_text);
  size_t offset_of(Mark m) const;
  size_t line_start(int line) const;
  size_t block_end(const YamlNode& node, int indent) const;
  // Where entry `i` of the block mapping `map` begins: its key line, or the comment lines right
  // above it.
  size_t entry_start(const YamlNode& map, size_t i) const;
  // Offset of the `]` closing a one-line flow list.
  util::Result<size_t> flow_list_close(const YamlNode& list, std::string_view name) const;
  util::Status set_scalar_in(const YamlNode& parent, int parent_indent, std::string_view key,
                             std::string_view value, bool plain);

  std::string m_text; // with LF line ends and no byte order mark
  YamlNode m_root;
  std::vector<size_t> m_lines;        // byte offset of each line start
  bool m_bom = false, m_crlf = false; // how the file had it
};

// Artifact files being edited in place, each loaded on first use.
class EditSet {
public:
  // The file at `path`, read and parsed the first time it is asked for.
  util::Result<DocumentText*> doc(const std::filesystem::path& path);
  // The edited texts by path.
  std::map<std::filesystem::path, std::string> texts() const;

private:
  std::map<std::filesystem::path, DocumentText> m_docs;
};

// The node at the first `count` segments of `path` (mapping keys; a segment of digits indexes
// a list: {"metadata", "events", "2", "timestamp"}), or nullptr.
const YamlNode* find_path(const YamlNode& root, const std::vector<std::string>& path, size_t count);

// Text of one event in block style, each line indented by `indent` spaces after the first
// line's `- `.
std::string event_lines(const YamlNode& event, int dash_indent);

// `lines` (whole lines) moved from indentation `from` to `to`: each line gains or loses the
// difference in leading spaces (never more than it has).
std::string reindent(std::string_view lines, int from, int to);

} // namespace kb::artifact
