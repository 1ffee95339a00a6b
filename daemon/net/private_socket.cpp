#include "daemon/net/private_socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace kb::daemon::net {

using local = boost::asio::local::stream_protocol;

util::Status PrivateSocket::listen(local::acceptor& acceptor, const std::filesystem::path& path) {
  ::unlink(path.c_str());
  boost::system::error_code ec;
  mode_t old = ::umask(077);
  acceptor.open(local(), ec);
  if (!ec)
    acceptor.bind(local::endpoint(path.string()), ec);
  ::umask(old);
  if (!ec)
    acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec)
    return util::make_error(util::ErrorKind::unavailable,
                            "cannot listen on " + path.string() + ": " + ec.message());
  ::chmod(path.c_str(), 0600);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    m_ino = st.st_ino;
    m_dev = st.st_dev;
  }
  m_path = path;
  m_bound = true;
  return util::ok_status();
}

void PrivateSocket::remove() {
  if (!std::exchange(m_bound, false))
    return;
  struct stat st {};
  if (::stat(m_path.c_str(), &st) == 0 && st.st_ino == m_ino && st.st_dev == m_dev)
    ::unlink(m_path.c_str());
}

} // namespace kb::daemon::net
