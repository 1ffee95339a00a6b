#pragma once

#include "core/util/result.hpp"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kb::artifact {

enum class ArtifactType { initiative, milestone, issue };

std::string_view to_string(ArtifactType type);
std::optional<ArtifactType> artifact_type_from_string(std::string_view name);

// An artifact ID: initiative letters (bijective base 26: A…Z, AA…) followed by one number for
// a milestone and two for an issue, e.g. `A`, `A.1`, `AB.2.13`. The type comes from the number
// of segments. Ordered naturally (A < B < Z < AA; A.2 < A.10).
class ArtifactId {
public:
  // Parses `text`; nullopt unless it is exactly a valid ID (no leading zeros, numbers >= 1).
  static std::optional<ArtifactId> parse(std::string_view text);

  // Parses or fails with an invalid_argument error that shows the expected forms.
  static util::Result<ArtifactId> parse_or_error(std::string_view text);

  // The initiative ID for a 1-based ordinal (1 → A, 26 → Z, 27 → AA).
  static ArtifactId initiative(std::uint64_t ordinal);

  ArtifactType type() const;
  const std::string& str() const { return m_text; }

  // Depth in the hierarchy: 1 for initiatives, 2 milestones, 3 issues.
  size_t depth() const { return m_numbers.size() + 1; }

  // The initiative ordinal (A = 1).
  std::uint64_t initiative_ordinal() const { return m_initiative; }
  // The last numeric segment (milestone or issue number); 0 for initiatives.
  std::uint64_t last_number() const { return m_numbers.empty() ? 0 : m_numbers.back(); }

  std::optional<ArtifactId> parent() const;
  // Ancestors root first: A.1.3 → [A, A.1].
  std::vector<ArtifactId> ancestors() const;
  // The child with number `n` (A.1 → A.1.n); nullopt for issues.
  std::optional<ArtifactId> child(std::uint64_t n) const;
  // Whether `this` lies strictly under `ancestor`.
  bool is_descendant_of(const ArtifactId& ancestor) const;

  std::strong_ordering operator<=>(const ArtifactId& other) const;
  bool operator==(const ArtifactId& other) const { return m_text == other.m_text; }

private:
  std::string m_text;
  std::uint64_t m_initiative = 0;
  std::vector<std::uint64_t> m_numbers;
};

// Bijective base-26 letters of an ordinal (1 → A, 27 → AA); empty for 0.
std::string initiative_letters(std::uint64_t ordinal);

// The next free child ID under `parent` (or the next initiative when parent is nullopt),
// given the IDs that exist: max existing + 1, starting at 1 / A.
ArtifactId next_id(const std::optional<ArtifactId>& parent,
                   const std::vector<ArtifactId>& existing);

} // namespace kb::artifact

template <> struct std::hash<kb::artifact::ArtifactId> {
  size_t operator()(const kb::artifact::ArtifactId& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
