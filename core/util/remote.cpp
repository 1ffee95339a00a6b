#include "core/util/remote.hpp"

namespace kb::util {

std::string remote_repository(std::string_view url) {
  std::string_view path;
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    auto rest = url.substr(scheme + 3);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos)
      return "";
    path = rest.substr(slash + 1);
  } else if (auto colon = url.find(':'); colon != std::string_view::npos && !url.starts_with("/")) {
    path = url.substr(colon + 1); // git@host:owner/name.git
  } else {
    return "";
  }
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (path.ends_with(".git"))
    path.remove_suffix(4);
  auto last = path.rfind('/');
  if (last == std::string_view::npos || last == 0 || last + 1 == path.size())
    return "";
  auto before = path.rfind('/', last - 1);
  return std::string(path.substr(before == std::string_view::npos ? 0 : before + 1));
}

std::string remote_host(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    auto rest = url.substr(scheme + 3);
    rest = rest.substr(0, rest.find('/'));
    if (auto at = rest.rfind('@'); at != std::string_view::npos)
      rest = rest.substr(at + 1);
    return std::string(rest.substr(0, rest.find(':')));
  }
  if (url.starts_with("/"))
    return "";
  auto colon = url.find(':');
  if (colon == std::string_view::npos)
    return "";
  auto host = url.substr(0, colon);
  if (auto at = host.rfind('@'); at != std::string_view::npos)
    host = host.substr(at + 1);
  return std::string(host);
}

} // namespace kb::util
