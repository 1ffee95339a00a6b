#pragma once

#include "daemon/net/asio.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

// What every HTTP door of the daemon keeps to, so that nobody who can connect (another local
// user on the loopback port, anyone on the internet at the webhook door) can hold its
// descriptors, its memory or its CPU: a cap on connections, deadlines for reading a request,
// for idling between requests and for taking an answer, and an accept loop that backs off
// when accepting fails (no descriptors left) instead of retrying at once.
namespace kb::daemon::github {

struct HttpLimits {
  std::size_t max_connections = 64;         // more are closed as soon as they are accepted
  std::chrono::seconds request_timeout{30}; // to send a whole request, headers and body
  std::chrono::seconds idle_timeout{60};    // a kept-alive connection without a request
  std::chrono::seconds write_timeout{30};   // to take an answer
};

// The open connections of one door. Each connection holds a slot while it lives.
class ConnectionSlots {
public:
  explicit ConnectionSlots(std::size_t max) : m_max(max) {}
  // A slot, or nullptr when all are taken; the slot is given back when the pointer dies.
  std::shared_ptr<void> take() {
    if (*m_open >= m_max)
      return nullptr;
    ++*m_open;
    // Points at the count (a slot must not be null to be told from no slot).
    return std::shared_ptr<void>(m_open.get(), [open = m_open](void*) { --*open; });
  }
  std::size_t open() const { return *m_open; }

private:
  std::size_t m_max;
  std::shared_ptr<std::size_t> m_open = std::make_shared<std::size_t>(0);
};

// A connection's deadline: `expire` runs (on the event loop) when it passes before it is
// cancelled or re-armed.
class Deadline {
public:
  explicit Deadline(const boost::asio::any_io_executor& executor) : m_timer(executor) {}
  template <class Expire> void arm(std::chrono::steady_clock::duration after, Expire expire) {
    m_timer.expires_after(after);
    m_timer.async_wait([expire = std::move(expire)](boost::system::error_code ec) {
      if (!ec)
        expire();
    });
  }
  void cancel() { m_timer.cancel(); }

private:
  boost::asio::steady_timer m_timer;
};

// Accepts on `acceptor` for as long as it is open, handing each socket to `serve`; a failed
// accept is retried after 100 ms, so running out of descriptors never spins the loop.
template <class Acceptor, class Serve>
void accept_loop(Acceptor& acceptor, boost::asio::steady_timer& retry, Serve serve) {
  acceptor.async_accept([&acceptor, &retry, serve](boost::system::error_code ec,
                                                   typename Acceptor::protocol_type::socket s) {
    if (ec == boost::asio::error::operation_aborted || !acceptor.is_open())
      return;
    if (ec) {
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([&acceptor, &retry, serve](boost::system::error_code wait) {
        if (!wait)
          accept_loop(acceptor, retry, serve);
      });
      return;
    }
    serve(std::move(s));
    accept_loop(acceptor, retry, serve);
  });
}

} // namespace kb::daemon::github
