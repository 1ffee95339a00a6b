#include "core/protocol/framing.hpp"

namespace kb::protocol {

LineFramer::Status LineFramer::next(std::string& out) {
  for (;;) {
    auto nl = m_buffer.find('\n', m_start);
    if (nl == std::string::npos) {
      if (m_buffer.size() - m_start > m_max) {
        // Drop what we have of the oversized frame; keep discarding until its newline.
        m_buffer.clear();
        m_start = 0;
        if (!m_discarding) {
          m_discarding = true;
          return Status::oversized;
        }
      }
      if (m_start > 0 && m_start * 2 > m_buffer.size()) {
        m_buffer.erase(0, m_start);
        m_start = 0;
      }
      return Status::need_more;
    }
    size_t len = nl - m_start;
    bool was_discarding = m_discarding;
    m_discarding = false;
    if (was_discarding || len > m_max) {
      m_start = nl + 1;
      if (was_discarding)
        continue; // the oversized frame was already reported
      return Status::oversized;
    }
    if (m_start == 0 && nl + 1 == m_buffer.size() && len > k_kept_capacity) {
      // A large frame that is all there is: handed over whole, not copied.
      m_buffer.resize(len);
      out = std::move(m_buffer);
      m_buffer = std::string();
    } else {
      out.assign(m_buffer, m_start, len);
      m_start = nl + 1;
      if (m_start == m_buffer.size() && m_buffer.capacity() > k_kept_capacity) {
        std::string().swap(m_buffer); // a large frame's room is not kept for the next small one
        m_start = 0;
      }
    }
    if (!out.empty() && out.back() == '\r')
      out.pop_back();
    return Status::frame;
  }
}

} // namespace kb::protocol
