// Runs a command repeatedly and prints its median and p90 wall time and its peak RSS.
// usage: kb_bench_cmd <label> <runs> -- <command> [args...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: kb_bench_cmd <label> <runs> -- <command> [args...]\n");
    return 2;
  }
  const char* label = argv[1];
  int runs = std::max(1, std::atoi(argv[2]));
  std::vector<double> ms;
  long max_rss_kb = 0;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, STDOUT_FILENO);
      ::execvp(argv[4], argv + 4);
      _exit(127);
    }
    int status = 0;
    struct rusage usage {};
    ::wait4(pid, &status, 0, &usage);
    auto end = std::chrono::steady_clock::now();
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      std::fprintf(stderr, "%s: command failed (status %d)\n", label, status);
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    max_rss_kb = std::max(max_rss_kb, usage.ru_maxrss);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-28s median %8.1f ms   p90 %8.1f ms   peak RSS %6.1f MB   (%d runs)\n", label,
              ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 9 / 10)],
              static_cast<double>(max_rss_kb) / 1024, runs);
  return 0;
}
