// GrpcProber implementation: connect (TLS offering h2 by ALPN), then a GrpcHealthExchange.
#include "proxy/probe/grpc_prober.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>

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
        exchange_(target.toString(), tls != nullptr, service) {
    if (tls != nullptr) useTls(tls, target.host(), "h2");
  }
  using ConnectionAttempt::begin;

 private:
  void onConnected() override {
    // gRPC needs HTTP/2: a TLS server that did not choose h2 by ALPN does not speak it here.
    if (exchange_.overTls() && negotiatedProtocol() != "h2") {
      finish(ProbeResult::failed("h2_protocol", "the server did not choose h2 (ALPN)"));
      return;
    }
    if (auto verdict = exchange_.start()) {
      finish(std::move(*verdict));
      return;
    }
    bufferevent_enable(connection(), EV_READ);
    send();
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

  GrpcHealthExchange exchange_;
};

}  // namespace

std::unique_ptr<ProbeAttempt> GrpcProber::start(ProbeDone done) {
  auto attempt =
      std::make_unique<GrpcAttempt>(base_, std::move(done), target_, service_, tls_.get());
  attempt->begin(target_, timeoutSeconds_);
  return attempt;
}

}  // namespace readygate
