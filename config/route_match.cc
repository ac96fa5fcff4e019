// matchRoute implementation.
#include "config/route_match.h"

#include <cctype>
#include <vector>

namespace readygate {
namespace {

/// 3 exact, 2 wildcard, 1 any host, 0 no match.
int hostRank(const std::string& pattern, std::string_view host) {
  if (pattern.empty()) return 1;
  if (pattern.starts_with("*.")) {
    std::string_view suffix = std::string_view(pattern).substr(1);  // ".example.com"
    if (host.size() <= suffix.size() || !host.ends_with(suffix)) return 0;
    std::string_view label = host.substr(0, host.size() - suffix.size());
    return label.find('.') == std::string_view::npos ? 2 : 0;
  }
  return pattern == host ? 3 : 0;
}

bool prefixMatches(const std::string& prefix, std::string_view path) {
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool isUnreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 3986 §5.2.4 on an absolute path, segment by segment.
std::string removeDotSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailingSlash = false;
  size_t at = 1;  // past the leading '/'
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    std::string_view segment =
        path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
    bool last = slash == std::string_view::npos;
    if (segment == ".") {
      trailingSlash = last;
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailingSlash = last;
    } else {
      segments.push_back(segment);
      trailingSlash = false;
    }
    if (last) break;
    at = slash + 1;
  }
  std::string out;
  for (std::string_view segment : segments) out.append("/").append(segment);
  if (trailingSlash || out.empty()) out.push_back('/');
  return out;
}

}  // namespace

std::string normalizePathForMatching(std::string_view path) {
  size_t query = path.find_first_of("?#");
  if (query != std::string_view::npos) path = path.substr(0, query);
  std::string decoded = "/";
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  decoded.reserve(path.size() + 1);
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      int high = hexValue(path[i + 1]);
      int low = hexValue(path[i + 2]);
      if (high >= 0 && low >= 0) {
        char c = static_cast<char>(high * 16 + low);
        if (isUnreserved(c)) {
          decoded.push_back(c);
        } else {
          decoded.push_back('%');
          decoded.push_back(
              static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1]))));
          decoded.push_back(
              static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2]))));
        }
        i += 2;
        continue;
      }
    }
    decoded.push_back(path[i]);
  }
  std::string resolved = removeDotSegments(decoded);
  std::string merged;
  merged.reserve(resolved.size());
  for (char c : resolved) {
    if (c == '/' && !merged.empty() && merged.back() == '/') continue;
    merged.push_back(c);
  }
  return merged;
}

std::string routeHost(std::string_view hostHeader) {
  std::string_view host = hostHeader;
  if (host.starts_with("[")) {
    size_t close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string lower(host);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!lower.empty() && lower.back() == '.') lower.pop_back();  // "example.com." is the same name
  return lower;
}

int matchRoute(const std::vector<RouteConfig>& routes, std::string_view host,
               std::string_view path) {
  std::string normalized = routeHost(host);
  size_t query = path.find_first_of("?#");
  if (query != std::string_view::npos) path = path.substr(0, query);
  int best = -1;
  int bestRank = 0;
  size_t bestLength = 0;
  for (size_t i = 0; i < routes.size(); ++i) {
    const RouteConfig& route = routes[i];
    int rank = hostRank(route.host, normalized);
    if (rank == 0 || !prefixMatches(route.pathPrefix, path)) continue;
    size_t length = route.pathPrefix.size();
    if (rank > bestRank || (rank == bestRank && length > bestLength)) {
      best = static_cast<int>(i);
      bestRank = rank;
      bestLength = length;
    }
  }
  return best;
}

}  // namespace readygate
