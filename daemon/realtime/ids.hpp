#pragma once

#include "core/util/result.hpp"
#include "daemon/realtime/link.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace kb::daemon::realtime {

// Artifact IDs handed out through the team's Redis, so that teammates adding under one parent
// at the same moment get different numbers. One counter per team and parent: raised to at
// least the highest number the asking daemon sees in its own tree, then incremented, in one
// script (atomic). A counter lives `ttl` after its last use; then the trees alone count again.
class IdReservations {
public:
  using Done = std::function<void(util::Result<std::uint64_t>)>;
  IdReservations(Link& link, std::chrono::seconds ttl) : m_link(link), m_ttl(ttl) {}

  // The next number under `parent` ("" for initiatives: their ordinal), at least
  // `highest_seen` + 1; fails with kind unavailable when the link is not live.
  void reserve(const std::string& team, const std::string& parent, std::uint64_t highest_seen,
               Done done);

private:
  Link& m_link;
  std::chrono::seconds m_ttl;
};

} // namespace kb::daemon::realtime
