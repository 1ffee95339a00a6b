#include "core/validate/rules.hpp"

namespace kb::validate {

std::string_view to_string(Severity s) {
  return s == Severity::error ? "error" : "warning";
}

size_t Report::count(Severity s) const {
  size_t n = 0;
  for (const auto& f : findings)
    n += f.severity == s;
  return n;
}

void Sink::add(Severity s, std::string code, std::string field, artifact::Mark mark,
               std::string message, std::string fix) {
  m_out.push_back(Finding{m_artifact.id.str(), m_artifact.path, s, std::move(code),
                          std::move(message), std::move(field), mark, std::move(fix)});
}

void Sink::error(std::string code, std::string field, artifact::Mark mark, std::string message,
                 std::string fix) {
  add(Severity::error, std::move(code), std::move(field), mark, std::move(message), std::move(fix));
}

void Sink::warning(std::string code, std::string field, artifact::Mark mark, std::string message,
                   std::string fix) {
  add(Severity::warning, std::move(code), std::move(field), mark, std::move(message),
      std::move(fix));
}

void Sink::tolerated(std::string code, std::string field, artifact::Mark mark, std::string message,
                     std::string fix) {
  add(m_mode == Mode::strict ? Severity::error : Severity::warning, std::move(code),
      std::move(field), mark, std::move(message), std::move(fix));
}

} // namespace kb::validate
