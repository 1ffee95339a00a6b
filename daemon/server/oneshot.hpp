#pragma once

#include "core/api/context.hpp"

namespace kb::daemon::server {

// One-shot mode: reads one JSON-RPC request from `in_fd`, answers it on `out_fd` and returns.
// Bad input gets a JSON-RPC error reply; a notification gets no reply. Returns the process
// exit code (0 once a reply, or nothing for a notification, was written).
int run_oneshot(api::Context& ctx, int in_fd, int out_fd);

} // namespace kb::daemon::server
