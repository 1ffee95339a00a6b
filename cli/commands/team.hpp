#pragma once

// Lines about teammates, shared by `team`, `status` and `watch`. Text that came from
// teammates (names, branches, titles) is cleaned of terminal control sequences.

#include "cli/session.hpp"

#include <string>
#include <string_view>

namespace kb::cli {

// Teammates' text without control characters (a crafted title cannot move the cursor).
std::string clean(std::string text);
// "Ada Lovelace <ada@example.com>  A.1.2 Fix the login (in_progress)  on A.1.2  · Claude Code"
std::string member_line(const Session& s, const json& member);
// One member_line per member, each after `indent`; "nobody is connected" when there are none.
std::string roster_lines(const Session& s, const json& members, std::string_view indent);
// "A.1.2  Ada Lovelace <ada@example.com>  until 16:05 (1h 59m left)  token 7"
std::string claim_line(const Session& s, const json& claim);
// A team.* notification as one line for `watch`.
std::string team_event_line(const Session& s, const std::string& method, const json& params,
                            const std::string& where);

} // namespace kb::cli
