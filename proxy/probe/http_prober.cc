// HttpProber implementation: request on connect, response parsed with http-parser.
#include "proxy/probe/http_prober.h"

#include <event2/bufferevent_ssl.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <strings.h>

#include "proxy/probe/connection_attempt.h"
#include "readygate/version.h"

namespace readygate {
namespace {

std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find_first_of("\r\n"));
  if (line.size() > 200) line.resize(200);
  return line;
}

class HttpAttempt : public ConnectionAttempt {
 public:
  HttpAttempt(event_base* base, ProbeDone done, const HttpProber& prober,
              const TlsClientContext* tls, const std::string& serverName)
      : ConnectionAttempt(base, std::move(done)),
        prober_(prober),
        tls_(tls),
        serverName_(serverName) {
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
    http_parser_settings_init(&settings_);
    settings_.on_headers_complete = [](http_parser* parser) {
      static_cast<HttpAttempt*>(parser->data)->headersComplete_ = true;
      return 0;
    };
    settings_.on_body = [](http_parser* parser, const char* data, size_t length) {
      auto* self = static_cast<HttpAttempt*>(parser->data);
      size_t room =
          HttpProber::kMaxBodyBytes - std::min(self->body_.size(), HttpProber::kMaxBodyBytes);
      self->body_.append(data, std::min(room, length));
      return 0;
    };
    settings_.on_message_complete = [](http_parser* parser) {
      static_cast<HttpAttempt*>(parser->data)->messageComplete_ = true;
      return 0;
    };
  }
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
      parse(chunk, static_cast<size_t>(got));
    }
  }

  void onEndOfStream() override {
    parse(nullptr, 0);  // tells the parser the body ended (responses without length)
    if (!finished()) conclude();
  }

  void onError(int error) override {
    // A reset after a complete status line still answers the question.
    if (headersComplete_) {
      conclude();
      return;
    }
    ConnectionAttempt::onError(error);
  }

  void parse(const char* data, size_t length) {
    size_t parsed = http_parser_execute(&parser_, &settings_, data, length);
    if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || parsed != length) {
      if (headersComplete_) {
        conclude();
      } else {
        finish(ProbeResult::failed("http_malformed",
                                   http_errno_description(HTTP_PARSER_ERRNO(&parser_))));
      }
      return;
    }
    if (messageComplete_ || body_.size() >= HttpProber::kMaxBodyBytes) conclude();
  }

  void conclude() {
    if (!headersComplete_) {
      finish(ProbeResult::failed("connection_closed", "closed before a status line"));
      return;
    }
    resetOnClose();
    int status = static_cast<int>(parser_.status_code);
    if (status >= 200 && status < 400) {
      finish(ProbeResult::passed(firstLine(body_)));
    } else {
      finish(ProbeResult::failed("http_" + std::to_string(status), firstLine(body_)));
    }
  }

  const HttpProber& prober_;
  const TlsClientContext* tls_;
  const std::string& serverName_;
  http_parser parser_;
  http_parser_settings settings_;
  std::string body_;
  bool headersComplete_ = false;
  bool messageComplete_ = false;
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
