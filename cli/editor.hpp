#pragma once

#include "core/util/result.hpp"

#include <filesystem>
#include <string>

namespace kb::cli {

// What the user saved in the editor, and the file it is kept in until the caller is done.
struct EditedText {
  std::string text;
  std::filesystem::path file;
};

// Opens $VISUAL, else $EDITOR, else vi on a temporary file holding `initial` (named with
// `suffix`, e.g. ".yml", so editors pick the syntax) and returns what was saved. Fails when the
// editor cannot run or exits non-zero, and (invalid_argument) when the text was saved
// unchanged, the conventional way to abort. The saved file is left for the caller to remove,
// so nothing typed is lost when the next step fails.
util::Result<EditedText> edit_text(const std::string& initial, const std::string& suffix);

} // namespace kb::cli
