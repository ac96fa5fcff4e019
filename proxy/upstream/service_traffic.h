// Traffic counters of one service, bumped by every worker, read at scrape time.
#pragma once

#include <prometheus/histogram.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace readygate {

/// Lock-free counters (relaxed atomics: totals, not orderings). The histogram takes a
/// short lock per observation, once per closed connection.
struct ServiceTraffic {
  std::atomic<uint64_t> connectionsTotal{0};
  std::atomic<int64_t> connectionsActive{0};
  std::atomic<uint64_t> bytesFromClients{0};
  std::atomic<uint64_t> bytesToClients{0};
  std::atomic<uint64_t> retries{0};         // connects tried again on another backend
  std::atomic<uint64_t> noReadyBackend{0};  // connections closed: nothing eligible
  std::atomic<uint64_t> failOpen{0};        // connections sent while whenNoneReady: all applied
  /// Clients turned away at accept by a limit, by AdmissionRefusal (process, service, client).
  std::array<std::atomic<uint64_t>, 3> refused{};
  // HTTP mode.
  std::array<std::atomic<uint64_t>, 5>
      localResponses{};                     // readygate's own answers, by class 1xx-5xx
  std::atomic<uint64_t> upstreamReused{0};  // requests sent on a pooled connection
  std::atomic<uint64_t> upstreamOpened{0};  // requests that needed a new upstream connection
  std::atomic<uint64_t> requestRetries{0};  // requests sent again after their connection failed
  prometheus::Histogram connectDuration{prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}};
  prometheus::Histogram firstByte{prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}};
  prometheus::Histogram requestDuration{prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}};
  prometheus::Histogram connectionDuration{prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}};

  // HTTP/2 from clients.
  std::atomic<uint64_t> http2Connections{0};
  std::atomic<uint64_t> http2Streams{0};
  std::atomic<int64_t> http2StreamsActive{0};
  std::atomic<uint64_t> http2Glitches{0};        // misbehaviour counted towards glitchThreshold
  std::atomic<uint64_t> http2FramesRefused{0};   // invalid frames and malformed requests
  std::atomic<uint64_t> http2GoawaysSent{0};
  std::atomic<uint64_t> http2GoawaysReceived{0};
  /// RST_STREAM by [sent][code]: RFC 9113 §7's codes 0-13, anything else as 14.
  static constexpr const char* kH2ErrorCodes[] = {
      "NO_ERROR",       "PROTOCOL_ERROR",     "INTERNAL_ERROR",      "FLOW_CONTROL_ERROR",
      "SETTINGS_TIMEOUT", "STREAM_CLOSED",    "FRAME_SIZE_ERROR",    "REFUSED_STREAM",
      "CANCEL",         "COMPRESSION_ERROR",  "CONNECT_ERROR",       "ENHANCE_YOUR_CALM",
      "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED", "unknown"};
  std::array<std::array<std::atomic<uint64_t>, std::size(kH2ErrorCodes)>, 2> http2Resets{};
  void http2Reset(bool sent, uint32_t code, uint64_t count) {
    size_t index = std::min<size_t>(code, std::size(kH2ErrorCodes) - 1);
    add(http2Resets[sent ? 1 : 0][index], count);
  }

  // HTTP/2 to backends (upstreamProtocol h2, h2c).
  std::atomic<uint64_t> upstreamH2Connections{0};     // connections opened
  std::atomic<uint64_t> unprocessedStreamRetries{0};  // streams a backend never began, sent elsewhere
  prometheus::Histogram upstreamH2StreamsPerConnection{prometheus::Histogram::BucketBoundaries{
      1, 10, 100, 1000, 10000, 100000, 1000000}};  // observed as a connection closes
  /// Responses by gRPC status (grpc-status 0-16; anything else as 17).
  static constexpr const char* kGrpcCodes[] = {
      "OK",        "CANCELLED",        "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",     "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE", "DATA_LOSS",      "UNAUTHENTICATED",   "other"};
  std::array<std::atomic<uint64_t>, std::size(kGrpcCodes)> grpcResponses{};
  void countGrpcStatus(std::string_view value) {
    size_t code = std::size(kGrpcCodes) - 1;
    if (value.size() == 1 && value[0] >= '0' && value[0] <= '9') {
      code = static_cast<size_t>(value[0] - '0');
    } else if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '6') {
      code = static_cast<size_t>(10 + value[1] - '0');
    }
    add(grpcResponses[code]);
  }

  // TLS listeners.
  static constexpr const char* kHandshakeResults[] = {
      "ok",     "timeout", "no_shared_cipher", "unknown_sni", "protocol_version",
      "client_certificate", "other"};
  static constexpr const char* kHandshakeVersions[] = {"TLSv1.2", "TLSv1.3", "unknown"};
  std::array<std::array<std::atomic<uint64_t>, 3>, std::size(kHandshakeResults)>
      tlsHandshakes{};  // [result][version]
  prometheus::Histogram tlsHandshakeDuration{prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  std::atomic<uint64_t> tlsResumed{0};  // of the ok handshakes, those that resumed a session
  std::atomic<uint64_t> certificateReloadsOk{0};
  std::atomic<uint64_t> certificateReloadsFailed{0};
  std::atomic<uint64_t> proxyHeaderRefused{0};  // no, bad or untrusted PROXY header

  // TLS to backends (upstreamTls).
  std::atomic<uint64_t> upstreamTlsFull{0};          // handshakes that verified a certificate
  std::atomic<uint64_t> upstreamTlsResumed{0};       // handshakes that resumed a session
  std::atomic<uint64_t> upstreamTlsVerifyFailed{0};  // the certificate did not verify
  std::atomic<uint64_t> upstreamTlsFailed{0};        // any other handshake failure

  /// One handshake's end, by the labels above (an unknown text counts as the last).
  void handshakeEnded(std::string_view result, std::string_view version, double seconds) {
    size_t r = 0;
    while (r + 1 < std::size(kHandshakeResults) && result != kHandshakeResults[r]) ++r;
    size_t v = 0;
    while (v + 1 < std::size(kHandshakeVersions) && version != kHandshakeVersions[v]) ++v;
    add(tlsHandshakes[r][v]);
    tlsHandshakeDuration.Observe(seconds);
  }

  /// A client connection closed after `seconds`: one place for both session kinds.
  void connectionEnded(double seconds) {
    connectionsActive.fetch_sub(1, std::memory_order_relaxed);
    connectionDuration.Observe(seconds);
  }

  static void add(std::atomic<uint64_t>& counter, uint64_t amount = 1) {
    counter.fetch_add(amount, std::memory_order_relaxed);
  }
};

}  // namespace readygate
