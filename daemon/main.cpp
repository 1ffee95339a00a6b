// kodebased: the kodebase server. `--oneshot` answers one request on stdio and exits.
#include "core/api/methods.hpp"
#include "daemon/server/oneshot.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <malloc.h>
#include <string_view>
#include <unistd.h>

namespace {

constexpr const char* k_usage = R"(usage: kodebased --oneshot
       kodebased --version

The kodebase server. `kodebase` starts it for you; you rarely run it by hand.

  --oneshot   read one JSON-RPC 2.0 request from standard input, write the reply to
              standard output and exit (what `kodebase --no-daemon` uses)
  --version   print the version and build id
  -h, --help  show this help
)";

} // namespace

int main(int argc, char** argv) {
  bool oneshot = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--oneshot") {
      oneshot = true;
    } else if (arg == "--version") {
      std::printf("kodebased %.*s (build %.*s)\n", static_cast<int>(kb::api::version().size()),
                  kb::api::version().data(), static_cast<int>(kb::api::build_id().size()),
                  kb::api::build_id().data());
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(k_usage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "kodebased: unknown option '%s'\n%s", argv[i], k_usage);
      return 2;
    }
  }
  if (!oneshot) {
    std::fputs("kodebased: the resident daemon is not part of this build yet; use --oneshot\n",
               stderr);
    return 3;
  }
  // A one-shot process lives for one request that may allocate ~100 MB in small blocks (a
  // 10,000-artifact project): growing the heap in large steps and never trimming it saves most
  // of the page-fault and brk cost, which dominates such a request.
  ::mallopt(M_TOP_PAD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  try {
    kb::api::DiskProjectSource projects{kb::api::DiskProjectSource::Retain::until_exit};
    kb::api::Context ctx{projects, "oneshot"};
    int code = kb::daemon::server::run_oneshot(ctx, STDIN_FILENO, STDOUT_FILENO);
    // The reply is written; running destructors and exit handlers would only delay the
    // caller, so the process ends here.
    std::fflush(nullptr);
    std::_Exit(code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kodebased: fatal: %s\n", e.what());
    return 3;
  }
}
