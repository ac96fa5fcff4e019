// grpc_health codec implementation.
#include "proxy/probe/grpc_health_codec.h"

#include <algorithm>

namespace readygate::grpc_health {
namespace {

void appendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::optional<uint64_t> readVarint(std::string_view& in) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return std::nullopt;
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;  // more than 10 bytes: not a varint
}

const char* statusName(int status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "unrecognised status";
  }
}

}  // namespace

std::string encodeRequest(std::string_view service) {
  std::string message;
  if (!service.empty()) {
    message.push_back(0x0A);  // field 1, wire type 2 (length-delimited)
    appendVarint(message, service.size());
    message.append(service);
  }
  std::string framed;
  framed.push_back(0);  // not compressed
  auto length = static_cast<uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8) framed.push_back(static_cast<char>(length >> shift));
  framed += message;
  return framed;
}

std::optional<int> decodeStatus(std::string_view message) {
  int status = 0;
  while (!message.empty()) {
    auto key = readVarint(message);
    if (!key || (*key >> 3) == 0) return std::nullopt;
    uint64_t field = *key >> 3;
    switch (*key & 7) {
      case 0: {  // varint
        auto value = readVarint(message);
        if (!value) return std::nullopt;
        if (field == 1) status = static_cast<int>(static_cast<int32_t>(*value));
        break;
      }
      case 1:  // 64-bit
        if (message.size() < 8) return std::nullopt;
        message.remove_prefix(8);
        break;
      case 2: {  // length-delimited
        auto length = readVarint(message);
        if (!length || *length > message.size()) return std::nullopt;
        message.remove_prefix(*length);
        break;
      }
      case 5:  // 32-bit
        if (message.size() < 4) return std::nullopt;
        message.remove_prefix(4);
        break;
      default:  // groups (3, 4) are not in proto3; 6 and 7 do not exist
        return std::nullopt;
    }
  }
  return status;
}

bool ResponseMessage::append(std::string_view data) {
  if (!error_.empty()) return false;
  bytes_.append(
      data.substr(0, kMaxMessageBytes + 5 - std::min(bytes_.size(), kMaxMessageBytes + 5)));
  if (bytes_.size() >= 5) {
    if (bytes_[0] != 0) {
      error_ = "compressed message (no grpc-encoding was offered)";
      return false;
    }
    uint32_t length = 0;
    for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<uint8_t>(bytes_[i]);
    if (length > kMaxMessageBytes) {
      error_ = "message of " + std::to_string(length) + " bytes";
      return false;
    }
  }
  return true;
}

std::optional<std::string_view> ResponseMessage::message() const {
  if (!error_.empty() || bytes_.size() < 5) return std::nullopt;
  uint32_t length = 0;
  for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<uint8_t>(bytes_[i]);
  if (bytes_.size() < 5 + static_cast<size_t>(length)) return std::nullopt;
  return std::string_view(bytes_).substr(5, length);
}

ProbeResult verdict(std::optional<int> grpcStatus, const std::string& grpcMessage,
                    std::optional<std::string_view> message) {
  if (grpcStatus && *grpcStatus == 5) {
    return ProbeResult::failed("grpc_unknown_service", grpcMessage);
  }
  if (grpcStatus && *grpcStatus != 0) {
    return ProbeResult::failed("grpc_status_" + std::to_string(*grpcStatus), grpcMessage);
  }
  if (!grpcStatus || !message) {
    return ProbeResult::failed("grpc_malformed",
                               !grpcStatus ? "no grpc-status" : "no response message");
  }
  std::optional<int> status = decodeStatus(*message);
  if (!status) return ProbeResult::failed("grpc_malformed", "not a HealthCheckResponse");
  switch (static_cast<ServingStatus>(*status)) {
    case ServingStatus::Serving:
      return ProbeResult::passed("SERVING");
    case ServingStatus::ServiceUnknown:
      return ProbeResult::failed("grpc_unknown_service", "SERVICE_UNKNOWN");
    default:
      return ProbeResult::failed("grpc_not_serving", statusName(*status));
  }
}

}  // namespace readygate::grpc_health
