// isGrpcRequest, grpcStatusForLocalAnswer and grpcTimeoutSeconds.
#include "proxy/http/grpc_status.h"

namespace readygate {

bool isGrpcRequest(const MessageHead& request) {
  const std::string* type = request.find("Content-Type");
  if (type == nullptr) return false;
  std::string_view value = *type;
  constexpr std::string_view kGrpc = "application/grpc";
  if (value.size() < kGrpc.size() || !equalsIgnoreCase(value.substr(0, kGrpc.size()), kGrpc)) {
    return false;
  }
  return value.size() == kGrpc.size() || value[kGrpc.size()] == '+' || value[kGrpc.size()] == ';';
}

GrpcStatus grpcStatusForLocalAnswer(int httpStatus) {
  switch (httpStatus) {
    case 502:
    case 503:
    case 421:
      return {14, "UNAVAILABLE"};
    case 408:
    case 504:
      return {4, "DEADLINE_EXCEEDED"};
    case 413:
    case 414:
    case 429:
    case 431:
      return {8, "RESOURCE_EXHAUSTED"};
    case 404:
      return {12, "UNIMPLEMENTED"};
    case 400:
      return {13, "INTERNAL"};
    case 401:
      return {16, "UNAUTHENTICATED"};
    case 403:
      return {7, "PERMISSION_DENIED"};
    default:
      return {2, "UNKNOWN"};
  }
}

std::optional<double> grpcTimeoutSeconds(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  double amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  switch (value.back()) {
    case 'H': return amount * 3600;
    case 'M': return amount * 60;
    case 'S': return amount;
    case 'm': return amount / 1e3;
    case 'u': return amount / 1e6;
    case 'n': return amount / 1e9;
    default: return std::nullopt;
  }
}

}  // namespace readygate
