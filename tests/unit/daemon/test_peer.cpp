#include "daemon/net/peer.hpp"
#include "tests/unit/support.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using kb::daemon::net::peer_is_us;

TEST_CASE("the daemon serves its own user only", "[daemon][peer]") {
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  CHECK(peer_is_us(pair[0]));
  ::close(pair[0]);
  ::close(pair[1]);
  CHECK_FALSE(peer_is_us(-1)); // no credentials: refused

  if (::geteuid() != 0)
    return; // only root can play another user
  kb::test::TempDir dir;
  ::chmod(dir.path().c_str(), 0777);
  auto path = (dir.path() / "s.sock").string();
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::chmod(path.c_str(), 0777);
  REQUIRE(::listen(listener, 1) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) { // as nobody: connect, then wait until the parent closes the connection
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(2);
    int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      ::_exit(3);
    char b;
    (void)!::read(c, &b, 1);
    ::_exit(0);
  }
  int conn = ::accept(listener, nullptr, nullptr);
  REQUIRE(conn >= 0);
  CHECK_FALSE(peer_is_us(conn));
  ::close(conn);
  ::close(listener);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
