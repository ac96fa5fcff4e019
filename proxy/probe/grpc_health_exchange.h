// One grpc.health.v1 Check as an HTTP/2 client exchange (nghttp2), without I/O: fuzzable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/probe/grpc_health_codec.h"
#include "proxy/probe/probe_result.h"

struct nghttp2_session;

namespace readygate {

/// Bytes to send come out of takeOutput(), bytes received go into receive(); a verdict
/// comes out once the stream closes or the peer breaks HTTP/2. The caller owns the socket.
class GrpcHealthExchange {
 public:
  /// `authority` is the :authority header ("10.0.0.5:9000"); `tls` picks :scheme https.
  GrpcHealthExchange(std::string authority, bool tls, std::string_view service);
  ~GrpcHealthExchange();
  GrpcHealthExchange(const GrpcHealthExchange&) = delete;
  GrpcHealthExchange& operator=(const GrpcHealthExchange&) = delete;

  /// Queues the connection preface, SETTINGS and the request; a verdict if that failed.
  std::optional<ProbeResult> start();
  /// Feeds what the server sent; the verdict once there is one.
  std::optional<ProbeResult> receive(std::string_view bytes);
  /// What to write to the server now (the queue is emptied).
  std::string takeOutput();
  /// The connection ended (closed or reset) before a verdict: `h2_protocol` when not one
  /// HTTP/2 frame came back (the port speaks something else), else `connection_closed`.
  ProbeResult connectionEnded(const std::string& detail) const;
  /// Some HTTP/2 frame with a header or data was read: the server answered.
  bool answered() const { return receivedFrame_; }
  bool overTls() const { return tls_; }

 private:
  struct SessionDeleter {
    void operator()(nghttp2_session* session) const;
  };
  void concludeStream(uint32_t errorCode);
  void queueOutput();

  std::string authority_;
  bool tls_;
  std::string request_;
  size_t requestSent_ = 0;
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  int32_t streamId_ = -1;
  bool receivedFrame_ = false;
  int httpStatus_ = 0;
  std::optional<int> grpcStatus_;
  std::string grpcMessage_;
  grpc_health::ResponseMessage response_;
  std::string output_;
  std::optional<ProbeResult> verdict_;
};

}  // namespace readygate
