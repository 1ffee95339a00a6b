#pragma once

#include <functional>
#include <string>
#include <vector>

namespace kb::cli::render {

// Rows of cells printed in aligned columns separated by two spaces; the last column is not
// padded. Cells may carry ANSI colours; widths count only visible characters.
class Table {
public:
  explicit Table(std::vector<std::string> header = {}) : m_header(std::move(header)) {}

  void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
  bool empty() const { return m_rows.empty(); }

  // The table as text; `header_style` wraps each header cell (e.g. bold) when given.
  std::string str(const std::function<std::string(std::string_view)>& header_style = {},
                  const std::string& indent = "") const;

private:
  std::vector<std::string> m_header;
  std::vector<std::vector<std::string>> m_rows;
};

} // namespace kb::cli::render
