#include "daemon/server/oneshot.hpp"

#include "core/api/methods.hpp"
#include "core/protocol/framing.hpp"
#include "core/util/fd.hpp"

#include <cerrno>
#include <unistd.h>

namespace kb::daemon::server {

namespace {

bool write_line(int fd, std::string text) {
  text += '\n';
  return static_cast<bool>(util::write_all(fd, text));
}

int reply(int fd, const protocol::Response& r) {
  return write_line(fd, protocol::serialize(r)) ? 0 : 3;
}

// Reads until the first complete non-empty frame, or end of input.
std::optional<std::string> read_frame(int fd, protocol::LineFramer& framer, bool& oversized) {
  std::string frame;
  char buf[65536];
  for (;;) {
    auto status = framer.next(frame);
    if (status == protocol::LineFramer::Status::frame && !frame.empty())
      return frame;
    if (status == protocol::LineFramer::Status::oversized) {
      oversized = true;
      return std::nullopt;
    }
    if (status == protocol::LineFramer::Status::frame)
      continue; // blank line
    ssize_t n = util::read_some(fd, buf, sizeof buf);
    if (n <= 0) {
      auto rest = std::string(framer.pending());
      if (rest.find_first_not_of(" \t\r\n") == std::string::npos)
        return std::nullopt;
      return rest; // a last line without its newline
    }
    framer.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

} // namespace

int run_oneshot(api::Context& ctx, int in_fd, int out_fd) {
  protocol::LineFramer framer;
  bool oversized = false;
  auto frame = read_frame(in_fd, framer, oversized);
  if (oversized)
    return reply(out_fd, protocol::error_response(nullptr, protocol::k_invalid_request,
                                                  "request frame exceeds the size limit"));
  if (!frame)
    return reply(out_fd, protocol::error_response(nullptr, protocol::k_invalid_request,
                                                  "no request on standard input"));
  auto message = protocol::parse_message(*frame);
  if (!message) {
    int code = message.error().details.value("code", protocol::k_invalid_request);
    return reply(out_fd, protocol::error_response(nullptr, code, message.error().message));
  }
  if (auto* n = std::get_if<protocol::Notification>(&*message)) {
    (void)api::dispatch(ctx, protocol::Request{nullptr, n->method, n->params});
    return 0;
  }
  auto* request = std::get_if<protocol::Request>(&*message);
  if (!request)
    return reply(out_fd, protocol::error_response(nullptr, protocol::k_invalid_request,
                                                  "expected a request, got a response"));
  return reply(out_fd, api::dispatch(ctx, *request));
}

} // namespace kb::daemon::server
