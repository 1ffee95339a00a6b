#pragma once

#include "core/util/result.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>
#include <sys/types.h>

namespace kb::daemon::net {

// A Unix socket the daemon listens on, only for its user: bound under umask 077 and made 0600.
// A socket left at the path is replaced (the caller holds the daemon lock, so it is a dead
// daemon's); on the way out it is removed only if it is still this one — a newer daemon may
// have taken the path meanwhile.
class PrivateSocket {
public:
  util::Status listen(boost::asio::local::stream_protocol::acceptor& acceptor,
                      const std::filesystem::path& path);
  // Removes the socket file when it is still ours; then forgets it.
  void remove();

private:
  std::filesystem::path m_path;
  ino_t m_ino = 0;
  dev_t m_dev = 0;
  bool m_bound = false;
};

} // namespace kb::daemon::net
