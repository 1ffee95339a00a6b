#include "core/util/log.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace kb::util {

namespace {

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}

WarningSink& sink() {
  static WarningSink s;
  return s;
}

} // namespace

void set_warning_sink(WarningSink s) {
  std::lock_guard lock(sink_mutex());
  sink() = std::move(s);
}

void warn(std::string_view message) {
  std::lock_guard lock(sink_mutex());
  if (sink()) {
    sink()(message);
    return;
  }
  std::string line = "kodebase: warning: " + std::string(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace kb::util
