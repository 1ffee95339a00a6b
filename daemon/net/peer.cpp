#include "daemon/net/peer.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace kb::daemon::net {

bool peer_is_us(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return false;
  return cred.uid == ::geteuid();
}

} // namespace kb::daemon::net
