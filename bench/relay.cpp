// The team relay against a redis-server of its own (a Unix socket; started and ended by pid):
// publish → Redis → another relay latency (p50/p99, paced so nothing queues), sustained
// throughput (a burst, in order, no lost connection), catch-up speed of a relay that joins
// late, and the time to be live again after the server restarts. Each relay has its own
// thread and io_context, as each daemon does. Figures only.
// usage: kb_bench_relay [--quick]
#include "daemon/realtime/relay.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <future>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;
namespace rt = kb::daemon::realtime;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string k_team = "bench/relay";

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Server {
  fs::path dir;
  pid_t pid = -1;
  std::string socket() const { return (dir / "r.sock").string(); }

  void start() {
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     "0",
                                     "--unixsocket",
                                     socket(),
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir.string(),
                                     "--logfile",
                                     (dir / "log").string()};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    fs::remove(socket());
    if (::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start redis-server");
    for (int i = 0; i < 500 && !fs::exists(socket()); ++i)
      std::this_thread::sleep_for(10ms);
  }
  void stop() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~Server() { stop(); }
};

// One daemon's relay: a link, a relay and the thread running them.
struct Member {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  rt::Link link{io, [](const std::string&) {}};
  std::unique_ptr<rt::Relay> relay;
  std::thread thread;
  std::function<void(const json&)> on_update;

  Member(const fs::path& state, const std::string& url, size_t history) {
    relay = std::make_unique<rt::Relay>(
        link, rt::RelayOptions{state, "bench-secret-0123456789abcdef", history},
        [this](const std::string&, const json& e) {
          if (on_update)
            on_update(e);
        },
        [](const std::string&) {});
    link.on_live([this] { relay->on_live(); });
    link.on_push([this](const rt::Reply& p) { relay->on_push(p); });
    rt::LinkOptions o;
    o.url = url;
    link.configure(o);
    thread = std::thread([this] { io.run(); });
  }
  ~Member() {
    boost::asio::post(io, [this] {
      relay.reset();
      link.stop();
      work.reset();
      io.stop();
    });
    thread.join();
  }
  template <class F> auto on_thread(F f) {
    std::promise<decltype(f())> done;
    boost::asio::post(io, [&] { done.set_value(f()); });
    return done.get_future().get();
  }
  bool wait_live(std::chrono::milliseconds limit = 10s) {
    auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      if (on_thread(
              [this] { return link.state() == rt::LinkState::live && !relay->catching_up(); }))
        return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

} // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  size_t paced = quick ? 300 : 2000, burst = quick ? 20000 : 100000;
  Server server;
  server.dir = fs::temp_directory_path() / fmt::format("kb-bench-relay-{}", ::getpid());
  fs::remove_all(server.dir);
  fs::create_directories(server.dir);
  server.start();
  auto url = "unix://" + server.socket();
  {
    const size_t history = paced + burst + 1000; // the whole run stays in the stream
    Member a(server.dir / "a", url, history), b(server.dir / "b", url, history);
    a.on_thread([&] {
      a.relay->follow(k_team);
      return true;
    });
    b.on_thread([&] {
      b.relay->follow(k_team);
      return true;
    });
    if (!a.wait_live() || !b.wait_live()) {
      fmt::print("relay: the links did not go live\n");
      return 1;
    }

    // Latency: one change per millisecond, each timed from publish() to the other's delivery.
    std::vector<double> latency;
    std::atomic<size_t> got{0};
    std::atomic<long long> last_n{-1};
    std::atomic<bool> in_order{true};
    b.on_update = [&](const json& e) {
      auto n = e.value("n", -1LL);
      if (n != last_n + 1)
        in_order = false;
      last_n = n;
      if (e.contains("t"))
        latency.push_back(static_cast<double>(now_ns() - e["t"].get<long long>()) / 1000.0);
      ++got;
    };
    for (size_t i = 0; i < paced; ++i) {
      boost::asio::post(a.io, [&, i] {
        a.relay->publish(k_team, {{"kind", "bench"}, {"n", i}, {"t", now_ns()}});
      });
      std::this_thread::sleep_for(1ms);
    }
    for (int i = 0; i < 5000 && got < paced; ++i)
      std::this_thread::sleep_for(1ms);
    fmt::print("relay latency (publish → Redis → other relay)   p50 {:7.0f} µs   p99 {:7.0f} µs   "
               "({} changes, one per ms{})\n",
               percentile(latency, 0.5), percentile(latency, 0.99), latency.size(),
               in_order ? ", in order" : ", OUT OF ORDER");

    // Throughput: a burst, delivered in order, without the link being cut.
    got = 0;
    last_n = -1;
    b.on_update = [&](const json& e) {
      auto n = e.value("n", -1LL);
      if (n != last_n + 1)
        in_order = false;
      last_n = n;
      ++got;
    };
    auto start = Clock::now();
    boost::asio::post(a.io, [&] {
      for (size_t i = 0; i < burst; ++i)
        a.relay->publish(k_team, {{"kind", "bench"}, {"n", i}});
    });
    for (int i = 0; i < 120000 && got < burst; ++i)
      std::this_thread::sleep_for(1ms);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    auto reconnects = a.on_thread([&] { return a.link.status().value("reconnects", 0); }) +
                      b.on_thread([&] { return b.link.status().value("reconnects", 0); });
    fmt::print("relay throughput                                {:7.0f} msg/s   ({} of {} "
               "delivered{}, {} reconnects)\n",
               static_cast<double>(got) / seconds, got.load(), burst,
               in_order ? " in order" : " OUT OF ORDER", reconnects);

    // Catch-up: a relay that joins now reads the whole history from the stream.
    Member c(server.dir / "c", url, history);
    std::atomic<size_t> caught{0};
    c.on_update = [&](const json&) { ++caught; };
    if (!c.wait_live())
      return 1;
    start = Clock::now();
    c.on_thread([&] {
      c.relay->follow(k_team);
      return true;
    });
    for (int i = 0; i < 120000 && caught < paced + burst; ++i)
      std::this_thread::sleep_for(1ms);
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    fmt::print("relay catch-up                                  {:7.0f} msg/s   ({} updates in "
               "{:.2f} s)\n",
               static_cast<double>(caught) / seconds, caught.load(), seconds);

    // Reconnect: the server killed and started again; time from its socket being back to the
    // relay being live and caught up (the first retry waits a jittered 0–500 ms).
    std::vector<double> back;
    for (int i = 0; i < (quick ? 2 : 5); ++i) {
      server.stop();
      for (int j = 0;
           j < 5000 && a.on_thread([&] { return a.link.state() == rt::LinkState::live; }); ++j)
        std::this_thread::sleep_for(1ms);
      server.start();
      start = Clock::now();
      if (a.wait_live())
        back.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    fmt::print("relay back live after a Redis restart           p50 {:7.0f} ms   max {:7.0f} ms   "
               "({} restarts)\n",
               percentile(back, 0.5),
               back.empty() ? 0 : *std::max_element(back.begin(), back.end()), back.size());
  }
  server.stop();
  fs::remove_all(server.dir);
  return 0;
}
