// The test pod's HTTP face: the routes of the Flask apps in the field notes.
#pragma once

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include <memory>

#include "tests/fakepod/fakepod_options.h"

namespace fakepod {

/// Serves HTTP (or HTTPS) on every configured port of one event_base.
class HttpPod {
 public:
  HttpPod(event_base* base, const Options& options);
  ~HttpPod();
  /// Binds every port; false (with a message on stderr) when one cannot be bound.
  bool listen();

 private:
  struct DelayedReply;
  static void onRequest(evhttp_request* request, void* self);
  static bufferevent* makeTlsBufferevent(event_base* base, void* self);
  void handle(evhttp_request* request);
  void reply(evhttp_request* request, int code, const char* reason, const std::string& body);
  bool readyNow();

  event_base* base_;
  const Options& options_;
  evhttp* http_ = nullptr;
  SSL_CTX* tls_ = nullptr;
  bool failing_ = false;
  int readyHits_ = 0;
  int forcedReady_ = -1;  // -1: not forced; 0/1: /control/ready/off|on
  long rootHits_ = 0;
  long requests_ = 0;
};

}  // namespace fakepod
