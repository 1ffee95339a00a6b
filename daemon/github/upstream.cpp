#include "daemon/github/upstream.hpp"
#include "core/util/text.hpp"
#include "daemon/net/asio.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <strings.h>

namespace kb::daemon::github {

namespace asio = boost::asio;

std::string header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0)
      return v;
  return {};
}

void remove_header(Headers& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& kv) {
    return kv.first.size() == name.size() &&
           ::strncasecmp(kv.first.data(), name.data(), name.size()) == 0;
  });
}

namespace {

CURLM* multi(void* m) {
  return static_cast<CURLM*>(m);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

} // namespace

// A socket libcurl asked us to watch. The descriptor is libcurl's: released, never closed.
struct Upstream::Socket {
  explicit Socket(asio::io_context& io, int descriptor_fd)
      : fd(descriptor_fd), descriptor(io, descriptor_fd) {}
  ~Socket() {
    boost::system::error_code ignored;
    descriptor.cancel(ignored);
    descriptor.release();
  }
  int fd;
  asio::posix::stream_descriptor descriptor;
  int what = 0; // CURL_POLL_IN / OUT / INOUT
  bool reading = false, writing = false;
  bool removed = false;
};

struct Upstream::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  HttpReply reply;
  Done done;
  ~Transfer() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
  }
};

Upstream::Upstream(asio::io_context& io, std::chrono::milliseconds timeout)
    : m_io(io), m_timeout(timeout), m_multi(nullptr), m_timer(io) {
  static const auto once = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)once;
  m_multi = curl_multi_init();
  curl_multi_setopt(multi(m_multi), CURLMOPT_SOCKETFUNCTION, &Upstream::on_socket);
  curl_multi_setopt(multi(m_multi), CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi(m_multi), CURLMOPT_TIMERFUNCTION, &Upstream::on_timer);
  curl_multi_setopt(multi(m_multi), CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi(m_multi), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

Upstream::~Upstream() {
  for (auto& [easy, t] : m_transfers)
    curl_multi_remove_handle(multi(m_multi), t->easy);
  m_transfers.clear();
  m_sockets.clear();
  curl_multi_cleanup(multi(m_multi));
}

int Upstream::on_socket(void*, int fd, int what, void* self_ptr, void*) {
  auto* self = static_cast<Upstream*>(self_ptr);
  if (what == CURL_POLL_REMOVE) {
    if (auto it = self->m_sockets.find(fd); it != self->m_sockets.end()) {
      it->second->removed = true;
      self->m_sockets.erase(it);
    }
    return 0;
  }
  auto& socket = self->m_sockets[fd];
  if (!socket)
    socket = std::make_shared<Socket>(self->m_io, fd);
  socket->what = what;
  if (what & CURL_POLL_IN)
    self->wait(socket, false);
  if (what & CURL_POLL_OUT)
    self->wait(socket, true);
  return 0;
}

void Upstream::wait(const std::shared_ptr<Socket>& socket, bool for_write) {
  bool& busy = for_write ? socket->writing : socket->reading;
  if (busy)
    return;
  busy = true;
  socket->descriptor.async_wait(
      for_write ? asio::posix::stream_descriptor::wait_write
                : asio::posix::stream_descriptor::wait_read,
      [this, socket, for_write](boost::system::error_code ec) {
        (for_write ? socket->writing : socket->reading) = false;
        if (socket->removed || ec == asio::error::operation_aborted)
          return;
        act(socket->fd, ec ? CURL_CSELECT_ERR : (for_write ? CURL_CSELECT_OUT : CURL_CSELECT_IN));
        // Still wanted (and not replaced by a new socket on the same descriptor): wait again.
        if (auto it = m_sockets.find(socket->fd);
            it != m_sockets.end() && it->second == socket &&
            (socket->what & (for_write ? CURL_POLL_OUT : CURL_POLL_IN)))
          wait(socket, for_write);
      });
}

int Upstream::on_timer(void*, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<Upstream*>(self_ptr);
  self->m_timer.cancel();
  if (timeout_ms < 0)
    return 0;
  self->m_timer.expires_after(std::chrono::milliseconds(timeout_ms));
  self->m_timer.async_wait([self](boost::system::error_code ec) {
    if (!ec)
      self->act(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void Upstream::act(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi(m_multi), fd, events, &running);
  finish_done();
}

void Upstream::finish_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi(m_multi), &left)) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    auto it = m_transfers.find(msg->easy_handle);
    if (it == m_transfers.end())
      continue;
    auto transfer = std::move(it->second);
    m_transfers.erase(it);
    curl_multi_remove_handle(multi(m_multi), transfer->easy);
    auto& reply = transfer->reply;
    if (msg->data.result != CURLE_OK) {
      reply.status = 0;
      reply.headers.clear();
      reply.body.clear();
      reply.error = curl_easy_strerror(msg->data.result);
    }
    auto done = std::move(transfer->done);
    auto result = std::move(reply);
    transfer.reset();
    done(std::move(result));
  }
}

namespace {

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpReply*>(user)->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* reply = static_cast<HttpReply*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue, say): the fields so far belonged to that one.
    reply->headers.clear();
    auto space = line.find(' ');
    reply->status = space == std::string_view::npos ? 0 : std::atoi(line.data() + space + 1);
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    reply->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                std::string(trim(line.substr(colon + 1))));
  return size * count;
}

} // namespace

void Upstream::fetch(HttpRequest request, Done done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  CURL* easy = t->easy = curl_easy_init();
  if (!easy) {
    HttpReply failed;
    failed.error = "cannot create an HTTP transfer";
    asio::post(m_io, [done = std::move(t->done), failed]() mutable { done(std::move(failed)); });
    return;
  }
  const auto& r = t->request;
  curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); // every encoding libcurl can undo
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t->reply);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t->reply);
  if (r.method == "HEAD")
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  else if (r.method != "GET")
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  if (!r.body.empty() || (r.method != "GET" && r.method != "HEAD")) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data()); // lives in the transfer
  }
  // libcurl adds its own Accept, Content-Type (to a body) and Expect unless told not to; the
  // caller's fields go as sent.
  bool accept = false, content_type = false;
  for (const auto& [k, v] : r.headers) {
    accept |= util::ascii_iequals(k, "Accept");
    content_type |= util::ascii_iequals(k, "Content-Type");
    t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
  }
  if (!accept)
    t->headers = curl_slist_append(t->headers, "Accept:");
  if (!content_type)
    t->headers = curl_slist_append(t->headers, "Content-Type:");
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  m_transfers.emplace(easy, std::move(t));
  curl_multi_add_handle(multi(m_multi), easy);
}

} // namespace kb::daemon::github
