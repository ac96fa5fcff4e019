// GrpcProber implementation: an nghttp2 client session over the probe's connection.
#include "proxy/probe/grpc_prober.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <optional>

#include "proxy/probe/connection_attempt.h"
#include "proxy/probe/grpc_health_codec.h"
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

struct SessionDeleter {
  void operator()(nghttp2_session* session) const { nghttp2_session_del(session); }
};

class GrpcAttempt : public ConnectionAttempt {
 public:
  GrpcAttempt(event_base* base, ProbeDone done, const SocketAddress& target,
              const std::string& service, const TlsClientContext* tls)
      : ConnectionAttempt(base, std::move(done)),
        authority_(target.toString()),
        serverName_(target.host()),
        request_(grpc_health::encodeRequest(service)),
        tls_(tls) {}
  using ConnectionAttempt::begin;

 private:
  void onConnected() override {
    if (tls_ != nullptr && !tlsEstablished_) {
      if (!tlsStarted_) {
        startTls();
        return;
      }
      tlsEstablished_ = true;
      // gRPC needs HTTP/2: a server that did not choose h2 by ALPN does not speak it here.
      SSL* ssl = bufferevent_openssl_get_ssl(connection());
      const unsigned char* chosen = nullptr;
      unsigned int length = 0;
      if (ssl != nullptr) SSL_get0_alpn_selected(ssl, &chosen, &length);
      if (length != 2 || memcmp(chosen, "h2", 2) != 0) {
        finish(ProbeResult::failed("h2_protocol", "the server did not choose h2 (ALPN)"));
        return;
      }
    }
    startSession();
  }

  void startTls() {
    tlsStarted_ = true;
    SslPtr ssl = tls_->newSsl(serverName_);
    if (ssl) {
      static const unsigned char kAlpnH2[] = {2, 'h', '2'};
      SSL_set_alpn_protos(ssl.get(), kAlpnH2, sizeof kAlpnH2);
    }
    wrapConnection([&](bufferevent* underlying) -> bufferevent* {
      if (!ssl) return nullptr;
      return bufferevent_openssl_filter_new(base(), underlying, ssl.release(),
                                            BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    });
    if (connection()) bufferevent_enable(connection(), EV_READ | EV_WRITE);
  }

  void onConnectError(int error) override {
    if (tlsStarted_) {
      unsigned long code = bufferevent_get_openssl_error(connection());
      char text[256] = "handshake failed";
      if (code != 0) ERR_error_string_n(code, text, sizeof text);
      ERR_clear_error();
      finish(ProbeResult::failed("tls_handshake", text));
      return;
    }
    ConnectionAttempt::onConnectError(error);
  }

  void startSession() {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_send_callback(callbacks, &GrpcAttempt::onSend);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &GrpcAttempt::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &GrpcAttempt::onData);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &GrpcAttempt::onStreamClose);
    nghttp2_session* session = nullptr;
    int created = nghttp2_session_client_new(&session, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (created != 0) {
      finish(ProbeResult::localResource("nghttp2_session_client_new failed"));
      return;
    }
    session_.reset(session);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
    const std::string post = "POST";
    const std::string scheme = "http";
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
    body.read_callback = &GrpcAttempt::readBody;
    streamId_ = nghttp2_submit_request(session, nullptr, headers, std::size(headers), &body, this);
    if (streamId_ < 0) {
      finish(ProbeResult::failed("h2_protocol", nghttp2_strerror(streamId_)));
      return;
    }
    bufferevent_enable(connection(), EV_READ);
    flush();
  }

  void onReadable() override {
    evbuffer* input = bufferevent_get_input(connection());
    while (!finished() && evbuffer_get_length(input) > 0) {
      size_t length = evbuffer_get_contiguous_space(input);
      const uint8_t* data = evbuffer_pullup(input, static_cast<ev_ssize_t>(length));
      ssize_t used = nghttp2_session_mem_recv(session_.get(), data, length);
      if (finished()) return;  // answered from inside mem_recv: the connection is gone
      if (used < 0) {
        // Not HTTP/2 at all (an HTTP/1 server answering our preface) or a broken peer.
        finish(ProbeResult::failed("h2_protocol", nghttp2_strerror(static_cast<int>(used))));
        return;
      }
      evbuffer_drain(input, static_cast<size_t>(used));
    }
    if (!finished()) flush();
  }

  void onError(int error) override {
    // Reset before any HTTP/2 frame: the port speaks something else (a TLS server
    // answering our cleartext preface with an alert, say).
    if (!receivedFrame_) {
      finish(ProbeResult::failed("h2_protocol", error ? strerror(error) : "connection error"));
      return;
    }
    ConnectionAttempt::onError(error);
  }

  void onEndOfStream() override {
    finish(ProbeResult::failed(receivedFrame_ ? "connection_closed" : "h2_protocol",
                               "closed before the answer"));
  }

  void flush() {
    if (finished()) return;
    if (nghttp2_session_send(session_.get()) != 0) {
      finish(ProbeResult::failed("h2_protocol", "cannot send"));
    }
  }

  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t length, int, void* self) {
    auto* attempt = static_cast<GrpcAttempt*>(self);
    if (attempt->connection() == nullptr) return NGHTTP2_ERR_CALLBACK_FAILURE;
    bufferevent_write(attempt->connection(), data, length);
    return static_cast<ssize_t>(length);
  }

  static ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* self) {
    auto* attempt = static_cast<GrpcAttempt*>(self);
    size_t left = attempt->request_.size() - attempt->requestSent_;
    size_t now = std::min(left, length);
    memcpy(buffer, attempt->request_.data() + attempt->requestSent_, now);
    attempt->requestSent_ += now;
    if (attempt->requestSent_ == attempt->request_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(now);
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t,
                      void* self) {
    auto* attempt = static_cast<GrpcAttempt*>(self);
    attempt->receivedFrame_ = true;
    if (frame->hd.stream_id != attempt->streamId_) return 0;
    std::string_view key(reinterpret_cast<const char*>(name), nameLength);
    std::string text(reinterpret_cast<const char*>(value), valueLength);
    if (key == ":status") {
      attempt->httpStatus_ = atoi(text.c_str());
    } else if (key == "grpc-status") {
      attempt->grpcStatus_ = atoi(text.c_str());
    } else if (key == "grpc-message") {
      attempt->grpcMessage_ = text.substr(0, 200);
    }
    return 0;
  }

  static int onData(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t length,
                    void* self) {
    auto* attempt = static_cast<GrpcAttempt*>(self);
    attempt->receivedFrame_ = true;
    if (stream == attempt->streamId_) {
      attempt->response_.append(std::string_view(reinterpret_cast<const char*>(data), length));
    }
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t stream, uint32_t errorCode, void* self) {
    auto* attempt = static_cast<GrpcAttempt*>(self);
    if (stream != attempt->streamId_ || attempt->finished()) return 0;
    attempt->resetOnClose();
    if (errorCode != NGHTTP2_NO_ERROR) {
      attempt->finish(ProbeResult::failed(
          "h2_protocol", std::string("stream reset: ") + nghttp2_http2_strerror(errorCode)));
    } else if (!attempt->grpcStatus_ && attempt->httpStatus_ != 200 && attempt->httpStatus_ != 0) {
      attempt->finish(grpc_health::verdict(grpcCodeForHttpStatus(attempt->httpStatus_),
                                           "HTTP " + std::to_string(attempt->httpStatus_),
                                           std::nullopt));
    } else if (!attempt->response_.error().empty()) {
      attempt->finish(ProbeResult::failed("grpc_malformed", attempt->response_.error()));
    } else {
      attempt->finish(grpc_health::verdict(attempt->grpcStatus_, attempt->grpcMessage_,
                                           attempt->response_.message()));
    }
    return 0;
  }

  std::string authority_;
  std::string serverName_;
  std::string request_;
  const TlsClientContext* tls_;
  bool tlsStarted_ = false;
  bool tlsEstablished_ = false;
  size_t requestSent_ = 0;
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  int32_t streamId_ = -1;
  bool receivedFrame_ = false;
  int httpStatus_ = 0;
  std::optional<int> grpcStatus_;
  std::string grpcMessage_;
  grpc_health::ResponseMessage response_;
};

}  // namespace

std::unique_ptr<ProbeAttempt> GrpcProber::start(ProbeDone done) {
  auto attempt =
      std::make_unique<GrpcAttempt>(base_, std::move(done), target_, service_, tls_.get());
  attempt->begin(target_, timeoutSeconds_);
  return attempt;
}

}  // namespace readygate
