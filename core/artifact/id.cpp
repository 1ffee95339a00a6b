#include "core/artifact/id.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>

namespace kb::artifact {

namespace {

constexpr std::uint64_t k_max_ordinal = std::numeric_limits<std::uint64_t>::max() / 27;
constexpr std::uint64_t k_max_number = 1'000'000'000;

} // namespace

std::string_view to_string(ArtifactType type) {
  switch (type) {
  case ArtifactType::initiative: return "initiative";
  case ArtifactType::milestone: return "milestone";
  case ArtifactType::issue: return "issue";
  }
  return "issue";
}

std::optional<ArtifactType> artifact_type_from_string(std::string_view name) {
  for (auto t : {ArtifactType::initiative, ArtifactType::milestone, ArtifactType::issue})
    if (to_string(t) == name)
      return t;
  return std::nullopt;
}

std::string initiative_letters(std::uint64_t ordinal) {
  std::string out;
  while (ordinal > 0) {
    --ordinal;
    out.insert(out.begin(), static_cast<char>('A' + ordinal % 26));
    ordinal /= 26;
  }
  return out;
}

std::optional<ArtifactId> ArtifactId::parse(std::string_view text) {
  ArtifactId id;
  size_t i = 0;
  while (i < text.size() && text[i] >= 'A' && text[i] <= 'Z') {
    if (id.m_initiative > k_max_ordinal)
      return std::nullopt;
    id.m_initiative = id.m_initiative * 26 + static_cast<std::uint64_t>(text[i] - 'A' + 1);
    ++i;
  }
  if (i == 0)
    return std::nullopt;
  while (i < text.size()) {
    if (text[i] != '.' || id.m_numbers.size() == 2)
      return std::nullopt;
    ++i;
    size_t start = i;
    std::uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (n > k_max_number)
        return std::nullopt;
      ++i;
    }
    if (i == start || n == 0 || text[start] == '0')
      return std::nullopt;
    id.m_numbers.push_back(n);
  }
  id.m_text = std::string(text);
  return id;
}

util::Result<ArtifactId> ArtifactId::parse_or_error(std::string_view text) {
  if (auto id = parse(text))
    return *id;
  return util::make_error(
      util::ErrorKind::invalid_argument,
      fmt::format("'{}' is not an artifact ID (expected an initiative like A, a milestone like "
                  "A.1 or an issue like A.1.3)",
                  text));
}

ArtifactId ArtifactId::initiative(std::uint64_t ordinal) {
  ArtifactId id;
  id.m_initiative = ordinal;
  id.m_text = initiative_letters(ordinal);
  return id;
}

ArtifactType ArtifactId::type() const {
  switch (m_numbers.size()) {
  case 0: return ArtifactType::initiative;
  case 1: return ArtifactType::milestone;
  default: return ArtifactType::issue;
  }
}

std::optional<ArtifactId> ArtifactId::parent() const {
  if (m_numbers.empty())
    return std::nullopt;
  ArtifactId p = *this;
  p.m_numbers.pop_back();
  p.m_text.resize(p.m_text.rfind('.'));
  return p;
}

std::vector<ArtifactId> ArtifactId::ancestors() const {
  std::vector<ArtifactId> out;
  for (auto p = parent(); p; p = p->parent())
    out.push_back(*p);
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<ArtifactId> ArtifactId::child(std::uint64_t n) const {
  if (m_numbers.size() == 2 || n == 0)
    return std::nullopt;
  ArtifactId c = *this;
  c.m_numbers.push_back(n);
  c.m_text += fmt::format(".{}", n);
  return c;
}

bool ArtifactId::is_descendant_of(const ArtifactId& ancestor) const {
  return m_text.size() > ancestor.m_text.size() && m_text.starts_with(ancestor.m_text) &&
         m_text[ancestor.m_text.size()] == '.';
}

std::strong_ordering ArtifactId::operator<=>(const ArtifactId& other) const {
  if (auto c = m_initiative <=> other.m_initiative; c != 0)
    return c;
  return std::lexicographical_compare_three_way(m_numbers.begin(), m_numbers.end(),
                                                other.m_numbers.begin(), other.m_numbers.end());
}

ArtifactId next_id(const std::optional<ArtifactId>& parent,
                   const std::vector<ArtifactId>& existing) {
  std::uint64_t max = 0;
  for (const auto& id : existing) {
    if (parent ? id.parent() == parent : id.type() == ArtifactType::initiative)
      max = std::max(max, parent ? id.last_number() : id.initiative_ordinal());
  }
  return parent ? *parent->child(max + 1) : ArtifactId::initiative(max + 1);
}

} // namespace kb::artifact
