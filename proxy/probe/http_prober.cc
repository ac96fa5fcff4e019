// HttpProber implementation: request on connect, response read by ProbeResponseParser.
#include "proxy/probe/http_prober.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <strings.h>

#include "proxy/probe/connection_attempt.h"
#include "proxy/probe/probe_response_parser.h"
#include "readygate/version.h"

namespace readygate {
namespace {

class HttpAttempt : public ConnectionAttempt {
 public:
  HttpAttempt(event_base* base, ProbeDone done, const HttpProber& prober,
              const TlsClientContext* tls, const std::string& serverName)
      : ConnectionAttempt(base, std::move(done)),
        prober_(prober),
        tls_(tls),
        serverName_(serverName) {}
  using ConnectionAttempt::begin;

 private:
  void onConnected() override {
    if (tls_ != nullptr && !tlsEstablished_) {
      if (!tlsStarted_) {
        startTls();
        return;
      }
      tlsEstablished_ = true;
    }
    bufferevent_write(connection(), prober_.request().data(), prober_.request().size());
    bufferevent_enable(connection(), EV_READ);
  }

  void startTls() {
    tlsStarted_ = true;
    SslPtr ssl = tls_->newSsl(serverName_);
    wrapConnection([&](bufferevent* underlying) -> bufferevent* {
      if (!ssl) return nullptr;
      bufferevent* filter = bufferevent_openssl_filter_new(
          base(), underlying, ssl.release(), BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
      // Many servers close without close_notify; that is the end of the answer, not an attack.
      if (filter) bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
      return filter;
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
    char chunk[4096];
    while (!finished()) {
      int got = evbuffer_remove(input, chunk, sizeof chunk);
      if (got <= 0) break;
      if (auto verdict = response_.feed(std::string_view(chunk, static_cast<size_t>(got)))) {
        conclude(std::move(*verdict));
      }
    }
  }

  void onEndOfStream() override { conclude(response_.endOfStream()); }

  void onError(int error) override {
    if (auto verdict = response_.connectionFailed()) {
      conclude(std::move(*verdict));
      return;
    }
    ConnectionAttempt::onError(error);
  }

  void conclude(ProbeResult verdict) {
    // The backend answered: close with a reset, no TIME_WAIT left per probe.
    if (response_.answered()) resetOnClose();
    finish(std::move(verdict));
  }

  const HttpProber& prober_;
  const TlsClientContext* tls_;
  const std::string& serverName_;
  ProbeResponseParser response_;
  bool tlsStarted_ = false;
  bool tlsEstablished_ = false;
};

bool hasHeader(const std::vector<HttpHeader>& headers, const char* name) {
  for (const HttpHeader& header : headers) {
    if (strcasecmp(header.name.c_str(), name) == 0) return true;
  }
  return false;
}

}  // namespace

HttpProber::HttpProber(event_base* base, SocketAddress target, const HttpGetAction& action,
                       double timeoutSeconds, std::shared_ptr<const TlsClientContext> tls)
    : base_(base), target_(target), timeoutSeconds_(timeoutSeconds), tls_(std::move(tls)) {
  // As the kubelet: Host is the probed address (or `host`), custom headers win over
  // the defaults, and the connection is not reused.
  std::string hostHeader =
      action.host.empty() ? target_.toString() : action.host + ":" + std::to_string(target_.port());
  serverName_ = action.host;
  request_ = "GET " + action.path + " HTTP/1.1\r\n";
  if (!hasHeader(action.headers, "Host")) request_ += "Host: " + hostHeader + "\r\n";
  if (!hasHeader(action.headers, "User-Agent")) {
    request_ += std::string("User-Agent: readygate/") + kVersion + "\r\n";
  }
  if (!hasHeader(action.headers, "Accept")) request_ += "Accept: */*\r\n";
  for (const HttpHeader& header : action.headers) {
    request_ += header.name + ": " + header.value + "\r\n";
  }
  request_ += "Connection: close\r\n\r\n";
}

std::unique_ptr<ProbeAttempt> HttpProber::start(ProbeDone done) {
  auto attempt =
      std::make_unique<HttpAttempt>(base_, std::move(done), *this, tls_.get(), serverName_);
  attempt->begin(target_, timeoutSeconds_);
  return attempt;
}

}  // namespace readygate
