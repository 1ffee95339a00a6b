#pragma once

#include <functional>
#include <string_view>

namespace kb::util {

// Where warnings go that have no caller to tell them to (an interrupted write finished or
// discarded by whoever noticed it): standard error unless a program sets a sink (the daemon
// sends them to its log). Thread-safe.
using WarningSink = std::function<void(std::string_view)>;
void set_warning_sink(WarningSink sink);

// Sends one line to the warning sink.
void warn(std::string_view message);

} // namespace kb::util
