// Fuzz target: DATA bytes of a gRPC health answer (framing and protobuf) into a verdict.
// (The HTTP/2 frames around them come with the nghttp2 prober, issue 11.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/probe/grpc_health_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: the grpc-status trailer (255: none); second: where the DATA is split.
  std::optional<int> grpcStatus;
  if (data[0] != 255) grpcStatus = data[0] % 17;
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  size_t cut = body.empty() ? 0 : data[1] % (body.size() + 1);
  readygate::grpc_health::ResponseMessage response;
  if (response.append(body.substr(0, cut))) response.append(body.substr(cut));
  readygate::ProbeResult result =
      readygate::grpc_health::verdict(grpcStatus, "", response.message());
  if (result.reason.empty() || result.success != (result.reason == "ok")) __builtin_trap();
  return 0;
}
