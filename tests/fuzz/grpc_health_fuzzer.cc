// Fuzz target: what a gRPC server sends back to a health probe, HTTP/2 frames and all,
// through GrpcHealthExchange (nghttp2's client session, gRPC framing, the protobuf bytes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/probe/grpc_health_exchange.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: where the server's bytes are split in two reads, and (bit 7) TLS or not.
  std::string_view server(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = server.empty() ? 0 : (data[0] & 0x7F) % (server.size() + 1);
  readygate::GrpcHealthExchange exchange("127.0.0.1:9000", (data[0] & 0x80) != 0, "svc");
  std::optional<readygate::ProbeResult> verdict = exchange.start();
  if (verdict) __builtin_trap();  // starting never fails on its own
  (void)exchange.takeOutput();
  verdict = exchange.receive(server.substr(0, cut));
  if (!verdict) verdict = exchange.receive(server.substr(cut));
  if (!verdict) verdict = exchange.connectionEnded("closed");
  (void)exchange.takeOutput();
  if (verdict->reason.empty() || verdict->success != (verdict->reason == "ok")) __builtin_trap();
  return 0;
}
