// matchRoute implementation.
#include "config/route_match.h"

#include <cctype>

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

}  // namespace

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
