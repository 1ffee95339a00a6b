// One client connection of the daemon: framed requests in, replies and notifications out.
#include "daemon/server/daemon.hpp"

namespace kb::daemon::server {

Session::Session(Daemon& daemon, local::socket socket, size_t max_frame)
    : m_daemon(daemon), m_socket(std::move(socket)), m_framer(max_frame) {
  m_daemon.attach(this);
}

Session::~Session() {
  m_daemon.detach(this);
}

void Session::pump() {
  while (!m_busy && !m_closed) {
    // A client that sends requests without reading the replies is not read from until they
    // drain: what waits for it stays bounded.
    if (m_out_bytes > m_daemon.options().max_pending_replies) {
      m_held = true;
      return;
    }
    if (m_daemon.stopping()) {
      close_when_done(); // in-flight requests finish; new ones are not started
      return;
    }
    std::string frame;
    auto status = m_framer.next(frame);
    if (status == protocol::LineFramer::Status::need_more) {
      read();
      return;
    }
    if (status == protocol::LineFramer::Status::oversized) {
      send(protocol::serialize(protocol::error_response(
          nullptr, protocol::k_invalid_request,
          fmt::format("request frame exceeds the {} byte limit", m_daemon.options().max_frame))));
      continue;
    }
    if (frame.size() > (1u << 20))
      m_large_frame = true; // its memory goes back to the system once it is answered
    if (frame.find_first_not_of(" \t\r") != std::string::npos)
      m_busy = !m_daemon.handle(shared_from_this(), frame);
    if (!m_busy && std::exchange(m_large_frame, false)) {
      std::string().swap(frame);
      ::malloc_trim(0);
    }
  }
}

void Session::read() {
  if (m_reading)
    return;
  m_reading = true;
  m_socket.async_read_some(asio::buffer(m_buf),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             self->m_reading = false;
                             if (ec) {
                               self->close();
                               return;
                             }
                             self->m_framer.feed(std::string_view(self->m_buf.data(), n));
                             self->pump();
                           });
}

void Session::send(std::string line, bool notification) {
  if (m_closed)
    return;
  if (notification) {
    if (m_queued_notifications >= m_daemon.options().subscriber_queue) {
      // Keep the message being written (it may be half sent); drop the rest of the backlog.
      while (m_out.size() > (m_writing ? 1u : 0u)) {
        m_out_bytes -= m_out.back().size();
        m_out.pop_back();
      }
      m_queued_notifications = 0;
      line = protocol::serialize(
          protocol::Notification{std::string(protocol::method::resync), json::object()});
    }
    ++m_queued_notifications;
  }
  line += '\n';
  m_out_bytes += line.size();
  m_out.push_back(std::move(line));
  flush();
}

void Session::flush() {
  if (m_writing || m_out.empty())
    return;
  m_writing = true;
  asio::async_write(m_socket, asio::buffer(m_out.front()),
                    [self = shared_from_this()](boost::system::error_code ec, size_t) {
                      self->m_writing = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->m_out_bytes -= self->m_out.front().size();
                      self->m_out.pop_front();
                      if (self->m_queued_notifications > 0)
                        --self->m_queued_notifications;
                      if (self->m_held &&
                          self->m_out_bytes <= self->m_daemon.options().max_pending_replies / 2) {
                        self->m_held = false;
                        asio::post(self->m_socket.get_executor(), [self] { self->pump(); });
                      }
                      if (self->m_out.empty() && self->m_daemon.stopping())
                        self->close_when_done();
                      else
                        self->flush();
                    });
}

void Session::close() {
  if (m_closed)
    return;
  m_closed = true;
  boost::system::error_code ignored;
  m_socket.shutdown(local::socket::shutdown_both, ignored);
  m_socket.close(ignored);
}

} // namespace kb::daemon::server
