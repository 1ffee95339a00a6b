#pragma once

namespace kb::daemon::net {

// Whether the process at the other end of Unix socket `fd` runs as our effective uid
// (SO_PEERCRED). The daemon serves only its own user; anything else, or a socket whose
// credentials cannot be read, is refused.
bool peer_is_us(int fd);

} // namespace kb::daemon::net
