// GrpcProber implementation: connect (and TLS with ALPN), then a GrpcHealthExchange.
#include "proxy/probe/grpc_prober.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <optional>

#include "proxy/probe/connection_attempt.h"
#include "proxy/probe/grpc_health_exchange.h"

namespace readygate {
namespace {

class GrpcAttempt : public ConnectionAttempt {
 public:
  GrpcAttempt(event_base* base, ProbeDone done, const SocketAddress& target,
              const std::string& service, const TlsClientContext* tls)
      : ConnectionAttempt(base, std::move(done)),
        serverName_(target.host()),
        exchange_(target.toString(), tls != nullptr, service),
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
    if (auto verdict = exchange_.start()) {
      finish(std::move(*verdict));
      return;
    }
    bufferevent_enable(connection(), EV_READ);
    send();
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

  void onReadable() override {
    evbuffer* input = bufferevent_get_input(connection());
    while (!finished() && evbuffer_get_length(input) > 0) {
      size_t length = evbuffer_get_contiguous_space(input);
      const char* data =
          reinterpret_cast<const char*>(evbuffer_pullup(input, static_cast<ev_ssize_t>(length)));
      std::optional<ProbeResult> verdict = exchange_.receive(std::string_view(data, length));
      evbuffer_drain(input, length);
      if (verdict) {
        conclude(std::move(*verdict));
        return;
      }
    }
    send();
  }

  // Closed or reset before any HTTP/2 frame: the port speaks something else (an HTTP/1
  // server, or a TLS server answering our cleartext preface with an alert).
  void onError(int error) override {
    conclude(exchange_.connectionEnded(error ? strerror(error) : "connection error"));
  }
  void onEndOfStream() override { conclude(exchange_.connectionEnded("closed before the answer")); }

  void send() {
    std::string output = exchange_.takeOutput();
    if (!output.empty() && connection() != nullptr) {
      bufferevent_write(connection(), output.data(), output.size());
    }
  }

  void conclude(ProbeResult verdict) {
    // The server answered: close with a reset, no TIME_WAIT left per probe.
    if (exchange_.answered()) resetOnClose();
    finish(std::move(verdict));
  }

  std::string serverName_;
  GrpcHealthExchange exchange_;
  const TlsClientContext* tls_;
  bool tlsStarted_ = false;
  bool tlsEstablished_ = false;
};

}  // namespace

std::unique_ptr<ProbeAttempt> GrpcProber::start(ProbeDone done) {
  auto attempt =
      std::make_unique<GrpcAttempt>(base_, std::move(done), target_, service_, tls_.get());
  attempt->begin(target_, timeoutSeconds_);
  return attempt;
}

}  // namespace readygate
