// gRPC's view of the answers readygate makes itself: which requests are gRPC, and the status
// a gRPC client is told instead of a bare HTTP error; no I/O.
#pragma once

#include <optional>
#include <string_view>

#include "proxy/http/http_message.h"

namespace readygate {

/// A gRPC status code and its name (grpc/doc/statuscodes.md).
struct GrpcStatus {
  int code;
  std::string_view name;
};

/// Content-Type `application/grpc`, alone or with a suffix (`+proto`, `;...`).
bool isGrpcRequest(const MessageHead& request);

/// What a gRPC client is told for an HTTP status readygate answered with: no ready
/// backend (502, 503) and a misdirected request (421, try another connection) are
/// UNAVAILABLE, timeouts (408, 504) DEADLINE_EXCEEDED, refused sizes and rates (413,
/// 414, 429, 431) RESOURCE_EXHAUSTED, no route (404) UNIMPLEMENTED, a malformed request
/// (400) INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, anything else UNKNOWN.
GrpcStatus grpcStatusForLocalAnswer(int httpStatus);

/// A grpc-timeout value ("100m", "5S": 1 to 8 digits and a unit, H M S m u n) in seconds;
/// nothing when it is not one.
std::optional<double> grpcTimeoutSeconds(std::string_view value);

}  // namespace readygate
