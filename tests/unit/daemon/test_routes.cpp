#include "daemon/server/daemon.hpp"

#include <catch2/catch.hpp>

using kb::daemon::server::Daemon;
namespace protocol = kb::protocol;
namespace m = kb::protocol::method;

TEST_CASE("the route table sends every method where it runs", "[daemon][routes]") {
  for (const auto& method : protocol::k_methods) {
    INFO(method.name);
    auto runs = Daemon::runs(method.name);
    if (method.flags & protocol::k_notification)
      CHECK(runs == Daemon::Runs::lane); // never asked: the lane's API says it is unknown
    else if (method.flags & protocol::k_daemon)
      CHECK(runs != Daemon::Runs::lane); // the daemon's own: core/api has no handler for it
  }
  // The core API's methods run on their project's lane, but for the three the team and the
  // pull-request workflow wrap.
  CHECK(Daemon::runs(m::artifacts_list) == Daemon::Runs::lane);
  CHECK(Daemon::runs(m::artifacts_edit) == Daemon::Runs::lane);
  CHECK(Daemon::runs(m::artifacts_create) == Daemon::Runs::bridge);
  CHECK(Daemon::runs(m::artifacts_start) == Daemon::Runs::bridge);
  CHECK(Daemon::runs(m::artifacts_submit) == Daemon::Runs::bridge);
  // Bridges answer later; the daemon's quick methods at once.
  CHECK(Daemon::runs(m::github_request) == Daemon::Runs::bridge);
  CHECK(Daemon::runs(m::team_claim) == Daemon::Runs::bridge);
  CHECK(Daemon::runs(m::hello) == Daemon::Runs::here);
  CHECK(Daemon::runs(m::subscribe) == Daemon::Runs::here);
  CHECK(Daemon::runs(m::cache_clear) == Daemon::Runs::here);
  CHECK(Daemon::runs("no.such.method") == Daemon::Runs::lane);
}
