#include "core/artifact/id.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace kb::artifact;

TEST_CASE("IDs parse and give their type from the segments", "[artifact][id]") {
  CHECK(ArtifactId::parse("A")->type() == ArtifactType::initiative);
  CHECK(ArtifactId::parse("AB.12")->type() == ArtifactType::milestone);
  CHECK(ArtifactId::parse("A.1.3")->type() == ArtifactType::issue);
  for (auto bad : {"", "a", "A.", "A.0", "A.01", "A.1.2.3", "1.A", "A..1", "A.1a", "A-1", "Ä"})
    CHECK_FALSE(ArtifactId::parse(bad));
  auto err = ArtifactId::parse_or_error("a.1");
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().kind == kb::util::ErrorKind::invalid_argument);
}

TEST_CASE("parents and ancestors drop trailing segments", "[artifact][id]") {
  auto id = *ArtifactId::parse("B.2.7");
  CHECK(id.parent()->str() == "B.2");
  auto anc = id.ancestors();
  REQUIRE(anc.size() == 2);
  CHECK(anc[0].str() == "B");
  CHECK(anc[1].str() == "B.2");
  CHECK_FALSE(ArtifactId::parse("B")->parent());
  CHECK(id.is_descendant_of(*ArtifactId::parse("B")));
  CHECK_FALSE(ArtifactId::parse("BA.1")->is_descendant_of(*ArtifactId::parse("B")));
}

TEST_CASE("initiative letters are bijective base 26", "[artifact][id]") {
  CHECK(initiative_letters(1) == "A");
  CHECK(initiative_letters(26) == "Z");
  CHECK(initiative_letters(27) == "AA");
  CHECK(initiative_letters(52) == "AZ");
  CHECK(initiative_letters(53) == "BA");
  CHECK(initiative_letters(702) == "ZZ");
  CHECK(initiative_letters(703) == "AAA");
  for (std::uint64_t n : {1u, 26u, 27u, 702u, 703u, 18278u})
    CHECK(ArtifactId::parse(initiative_letters(n))->initiative_ordinal() == n);
}

TEST_CASE("natural order sorts letters by length and numbers numerically", "[artifact][id]") {
  std::vector<std::string> texts = {"AA", "B", "A.10", "A.2", "A", "Z", "A.2.1", "A.10.1", "A.1"};
  std::vector<ArtifactId> ids;
  for (const auto& t : texts)
    ids.push_back(*ArtifactId::parse(t));
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> sorted;
  for (const auto& id : ids)
    sorted.push_back(id.str());
  CHECK(sorted ==
        std::vector<std::string>{"A", "A.1", "A.2", "A.2.1", "A.10", "A.10.1", "B", "Z", "AA"});
}

TEST_CASE("next IDs are the maximum plus one under the parent", "[artifact][id]") {
  std::vector<ArtifactId> existing;
  for (auto t : {"A", "Z", "A.1", "A.3", "A.3.1", "A.3.9", "B.1"})
    existing.push_back(*ArtifactId::parse(t));
  CHECK(next_id(std::nullopt, existing).str() == "AA");
  CHECK(next_id(*ArtifactId::parse("A"), existing).str() == "A.4");
  CHECK(next_id(*ArtifactId::parse("A.3"), existing).str() == "A.3.10");
  CHECK(next_id(*ArtifactId::parse("A.1"), existing).str() == "A.1.1");
  CHECK(next_id(std::nullopt, {}).str() == "A");
}
