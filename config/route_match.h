// Which route takes an HTTP request: ingress rules for Host and path prefix, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"

namespace readygate {

/// The index of the route that takes a request for `host` and `path`, or -1.
///
/// As Kubernetes Ingress: an exact host beats a wildcard (`*.example.com` matches
/// exactly one label: `a.example.com`, not `example.com` nor `a.b.example.com`), which
/// beats a route without host; among those, the longest path prefix wins, matched on
/// segment boundaries (`/v1` takes `/v1` and `/v1/x`, not `/v10`). `host` may carry a
/// port (dropped) and any case; `path` may carry a query (ignored).
int matchRoute(const std::vector<RouteConfig>& routes, std::string_view host,
               std::string_view path);

/// A request path as routes compare it (`http.pathMatching: normalized`), never as it is
/// forwarded: the query dropped, percent-escapes of unreserved characters decoded
/// (RFC 3986 §6.2.2.2: `%61` is `a`; `%2F` and other reserved ones stay encoded), dot
/// segments removed (§5.2.4: `/x/../api` is `/api`, `/api/../x` is `/x`), then repeated
/// slashes merged (`//api` is `/api`). A path without a leading slash gets one.
std::string normalizePathForMatching(std::string_view path);

/// The host of a Host header as routes compare it: port dropped, lowercase.
std::string routeHost(std::string_view hostHeader);

}  // namespace readygate
