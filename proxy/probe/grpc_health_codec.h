// grpc.health.v1 Check on the wire, by hand: the two tiny protobuf messages and gRPC framing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/probe/probe_result.h"

namespace readygate::grpc_health {

/// The request path every gRPC health probe calls.
inline constexpr std::string_view kCheckPath = "/grpc.health.v1.Health/Check";

/// HealthCheckResponse.ServingStatus.
enum class ServingStatus : int { Unknown = 0, Serving = 1, NotServing = 2, ServiceUnknown = 3 };

/// One length-prefixed gRPC message holding HealthCheckRequest{service}:
///   00                      not compressed
///   00 00 00 NN             message length, big-endian
///   0A <varint len> <bytes> field 1 (service), wire type 2; absent when service is ""
/// So the default (empty) service is the five bytes 00 00 00 00 00.
std::string encodeRequest(std::string_view service);

/// HealthCheckResponse's status from a protobuf message: field 1, wire type 0 (varint),
/// e.g. 08 01 = SERVING. Other fields are skipped by their wire type, as protobuf readers
/// must; a missing status is UNKNOWN (proto3 default). nullopt when the bytes are not a
/// well-formed message.
std::optional<int> decodeStatus(std::string_view message);

/// Collects the DATA bytes of a response and takes the first gRPC message out of them.
class ResponseMessage {
 public:
  /// Messages larger than this are refused: a health answer is a few bytes.
  static constexpr size_t kMaxMessageBytes = 4096;

  /// Adds DATA bytes; false once the framing is wrong (compressed, too large).
  bool append(std::string_view data);
  /// The first message, once all of it has arrived.
  std::optional<std::string_view> message() const;
  const std::string& error() const { return error_; }

 private:
  std::string bytes_;
  std::string error_;
};

/// The probe's verdict from what the server said: the `grpc-status` trailer (nullopt when
/// absent), its `grpc-message`, and the response message (nullopt when none arrived).
///   grpc-status 5 (NOT_FOUND)   grpc_unknown_service
///   grpc-status n != 0          grpc_status_<n>
///   status SERVING              ok
///   status SERVICE_UNKNOWN      grpc_unknown_service
///   any other status            grpc_not_serving
///   no status or no message     grpc_malformed
ProbeResult verdict(std::optional<int> grpcStatus, const std::string& grpcMessage,
                    std::optional<std::string_view> message);

}  // namespace readygate::grpc_health
