// HttpProber implementation: request on connect, response read by ProbeResponseParser.
#include "proxy/probe/http_prober.h"

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
      : ConnectionAttempt(base, std::move(done)), prober_(prober) {
    if (tls != nullptr) useTls(tls, serverName);
  }
  using ConnectionAttempt::begin;

 private:
  void onConnected() override {
    bufferevent_write(connection(), prober_.request().data(), prober_.request().size());
    bufferevent_enable(connection(), EV_READ);
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
  ProbeResponseParser response_;
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
