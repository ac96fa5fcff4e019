// GrpcHealthExchange implementation: nghttp2 client session with in-memory I/O.
#include "proxy/probe/grpc_health_exchange.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "readygate/version.h"

namespace readygate {
namespace {

nghttp2_nv header(const char* name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), strlen(name),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

/// gRPC's mapping of an HTTP status without grpc-status to a gRPC code (grpc/doc/
/// http-grpc-status-mapping.md): the reason is then grpc_status_<code>.
int grpcCodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return 13;  // INTERNAL
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;  // UNAVAILABLE
    default:
      return 2;  // UNKNOWN
  }
}

}  // namespace

void GrpcHealthExchange::SessionDeleter::operator()(nghttp2_session* session) const {
  nghttp2_session_del(session);
}

GrpcHealthExchange::GrpcHealthExchange(std::string authority, bool tls, std::string_view service)
    : authority_(std::move(authority)), tls_(tls), request_(grpc_health::encodeRequest(service)) {}

GrpcHealthExchange::~GrpcHealthExchange() = default;

std::optional<ProbeResult> GrpcHealthExchange::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    return ProbeResult::localResource("nghttp2_session_callbacks_new failed");
  }
  nghttp2_session_callbacks_set_send_callback(
      callbacks, [](nghttp2_session*, const uint8_t* data, size_t length, int, void* self) {
        static_cast<GrpcHealthExchange*>(self)->output_.append(reinterpret_cast<const char*>(data),
                                                               length);
        return static_cast<ssize_t>(length);
      });
  nghttp2_session_callbacks_set_on_header_callback(
      callbacks,
      [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t nameLength,
         const uint8_t* value, size_t valueLength, uint8_t, void* self) {
        auto* exchange = static_cast<GrpcHealthExchange*>(self);
        exchange->receivedFrame_ = true;
        if (frame->hd.stream_id != exchange->streamId_) return 0;
        std::string_view key(reinterpret_cast<const char*>(name), nameLength);
        std::string text(reinterpret_cast<const char*>(value), valueLength);
        if (key == ":status") {
          exchange->httpStatus_ = atoi(text.c_str());
        } else if (key == "grpc-status") {
          exchange->grpcStatus_ = atoi(text.c_str());
        } else if (key == "grpc-message") {
          exchange->grpcMessage_ = text.substr(0, 200);
        }
        return 0;
      });
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      callbacks, [](nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t length,
                    void* self) {
        auto* exchange = static_cast<GrpcHealthExchange*>(self);
        exchange->receivedFrame_ = true;
        if (stream == exchange->streamId_) {
          exchange->response_.append(std::string_view(reinterpret_cast<const char*>(data), length));
        }
        return 0;
      });
  nghttp2_session_callbacks_set_on_stream_close_callback(
      callbacks, [](nghttp2_session*, int32_t stream, uint32_t errorCode, void* self) {
        auto* exchange = static_cast<GrpcHealthExchange*>(self);
        if (stream == exchange->streamId_ && !exchange->verdict_) {
          exchange->concludeStream(errorCode);
        }
        return 0;
      });
  nghttp2_session* session = nullptr;
  int created = nghttp2_session_client_new(&session, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) return ProbeResult::localResource("nghttp2_session_client_new failed");
  session_.reset(session);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  const std::string post = "POST";
  const std::string scheme = tls_ ? "https" : "http";
  const std::string path(grpc_health::kCheckPath);
  const std::string contentType = "application/grpc";
  const std::string trailers = "trailers";
  const std::string agent = std::string("readygate/") + kVersion;
  nghttp2_nv headers[] = {header(":method", post),
                          header(":scheme", scheme),
                          header(":authority", authority_),
                          header(":path", path),
                          header("content-type", contentType),
                          header("te", trailers),
                          header("user-agent", agent)};
  nghttp2_data_provider body{};
  body.source.ptr = this;
  body.read_callback = [](nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* self) {
    auto* exchange = static_cast<GrpcHealthExchange*>(self);
    size_t now = std::min(exchange->request_.size() - exchange->requestSent_, length);
    memcpy(buffer, exchange->request_.data() + exchange->requestSent_, now);
    exchange->requestSent_ += now;
    if (exchange->requestSent_ == exchange->request_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(now);
  };
  streamId_ = nghttp2_submit_request(session, nullptr, headers, std::size(headers), &body, this);
  if (streamId_ < 0) return ProbeResult::failed("h2_protocol", nghttp2_strerror(streamId_));
  queueOutput();
  return verdict_;
}

std::optional<ProbeResult> GrpcHealthExchange::receive(std::string_view bytes) {
  if (verdict_ || !session_) return verdict_;
  ssize_t used = nghttp2_session_mem_recv(
      session_.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (verdict_) return verdict_;
  if (used < 0) {
    // Not HTTP/2 at all (an HTTP/1 server answering our preface) or a broken peer.
    verdict_ = ProbeResult::failed("h2_protocol", nghttp2_strerror(static_cast<int>(used)));
    return verdict_;
  }
  queueOutput();  // SETTINGS acks, WINDOW_UPDATEs
  return verdict_;
}

std::string GrpcHealthExchange::takeOutput() { return std::exchange(output_, std::string()); }

ProbeResult GrpcHealthExchange::connectionEnded(const std::string& detail) const {
  return ProbeResult::failed(receivedFrame_ ? "connection_closed" : "h2_protocol", detail);
}

void GrpcHealthExchange::queueOutput() {
  if (nghttp2_session_send(session_.get()) != 0 && !verdict_) {
    verdict_ = ProbeResult::failed("h2_protocol", "cannot send");
  }
}

void GrpcHealthExchange::concludeStream(uint32_t errorCode) {
  if (errorCode != NGHTTP2_NO_ERROR) {
    verdict_ = ProbeResult::failed(
        "h2_protocol", std::string("stream reset: ") + nghttp2_http2_strerror(errorCode));
  } else if (!grpcStatus_ && httpStatus_ != 200 && httpStatus_ != 0) {
    verdict_ = grpc_health::verdict(grpcCodeForHttpStatus(httpStatus_),
                                    "HTTP " + std::to_string(httpStatus_), std::nullopt);
  } else if (!response_.error().empty()) {
    verdict_ = ProbeResult::failed("grpc_malformed", response_.error());
  } else {
    verdict_ = grpc_health::verdict(grpcStatus_, grpcMessage_, response_.message());
  }
}

}  // namespace readygate
