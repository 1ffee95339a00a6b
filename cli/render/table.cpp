#include "cli/render/table.hpp"

#include "cli/render/style.hpp"

#include <algorithm>

namespace kb::cli::render {

std::string Table::str(const std::function<std::string(std::string_view)>& header_style,
                       const std::string& indent) const {
  std::vector<size_t> widths;
  auto measure = [&](const std::vector<std::string>& row) {
    if (widths.size() < row.size())
      widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  };
  if (!m_header.empty())
    measure(m_header);
  for (const auto& row : m_rows)
    measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row, bool is_header) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = is_header && header_style ? header_style(row[i]) : row[i];
      line += cell;
      if (i + 1 < row.size())
        line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out += '\n';
  };
  if (!m_header.empty())
    emit(m_header, true);
  for (const auto& row : m_rows)
    emit(row, false);
  return out;
}

} // namespace kb::cli::render
