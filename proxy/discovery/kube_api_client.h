// GET requests to the Kubernetes API server over verified TLS, one at a time, on the control
// loop: the bytes of a list or a watch handed on as they come.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/core/socket_address.h"
#include "proxy/core/timer.h"
#include "proxy/discovery/api_response_reader.h"
#include "proxy/discovery/dns_resolver.h"
#include "proxy/discovery/kube_api_target.h"
#include "proxy/transport/buffer_pool.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/transport/tls_client_context.h"

namespace readygate {

/// Each request has a connection of its own (`Connection: close`): a watch holds its
/// connection for minutes anyway, and a list is a few pages. TLS is always verified,
/// through the transport layer (`TlsClientContext`, `TlsTransport`). The bearer token
/// is the target's, or its file's content, read through core's file reader when first
/// needed, again once a minute (bound service-account tokens rotate; client-go's
/// transport/token_source.go re-reads as often) and after a 401.
class KubeApiClient : private StreamConnection::Handler {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    /// The response's status, once its head is in.
    virtual void onResponseHead(int status) = 0;
    /// A piece of the body, chunk framing removed.
    virtual void onResponseBody(std::string_view piece) = 0;
    /// The request is over: `error` empty when the response came whole; otherwise why
    /// not (no connection, TLS, a timeout before the head, a cut, a malformed answer).
    /// The handler may start the next request from here.
    virtual void onResponseDone(const std::string& error) = 0;
  };

  /// The TLS context verifies the API server (the target's CA, or the system's) for its
  /// name or address. A host name is looked up (c-ares, through `resolvers` as DNS
  /// discovery asks them; empty: /etc/resolv.conf) before each request, within the head's
  /// deadline. Returns the reason instead when the target
  /// cannot be used (a CA or client certificate that does not load).
  static std::variant<std::unique_ptr<KubeApiClient>, std::string> create(
      event_base* base, BufferPool& pool, const KubeApiTarget& target, size_t maxFileBytes,
      std::vector<std::string> resolvers = {});
  ~KubeApiClient() override;
  KubeApiClient(const KubeApiClient&) = delete;
  KubeApiClient& operator=(const KubeApiClient&) = delete;

  /// Starts `GET target` ("/apis/...?..."); one request at a time. `handler` (not owned)
  /// hears everything about it, never from inside this call. `wholeWithinSeconds` > 0
  /// bounds the whole answer (a list); 0 leaves the body unbounded in time (a watch,
  /// whose silence the caller measures).
  void get(const std::string& target, Handler& handler, double wholeWithinSeconds = 0);
  /// Drops the request in flight without a word to its handler (a stale watch).
  void cancel();
  bool busy() const { return handler_ != nullptr; }
  /// A 401 came: the token file is read again before the next request.
  void tokenRejected() { tokenReadAt_.reset(); }

  /// From the first byte out to the response head, at most this long.
  static constexpr double kHeadTimeoutSeconds = 10;
  static constexpr double kTokenRereadSeconds = 60;
  static constexpr size_t kMaxTokenBytes = 16 * 1024;

 private:
  KubeApiClient(event_base* base, BufferPool& pool, KubeApiTarget target,
                std::optional<SocketAddress> address, std::shared_ptr<TlsClientContext> tls,
                size_t maxFileBytes, std::vector<std::string> resolvers);
  /// The token for the next request ("" for none); nullopt when the file cannot be read
  /// and no token was read before (`error` says why).
  std::optional<std::string> token(std::string& error);
  void begin();
  void connect(const SocketAddress& address);
  void finish(std::string error);
  void onTimeout();
  void onWholeTimeout();

  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection&) override {}
  void onClosed(StreamConnection& connection, int error) override;
  void onConnected(StreamConnection& connection, int error) override;
  void onHandshake(StreamConnection& connection, int error) override;

  event_base* base_;
  BufferPool& pool_;
  const KubeApiTarget target_;
  const std::optional<SocketAddress> address_;  // none: `target_.host` is a name
  const std::shared_ptr<TlsClientContext> tls_;
  const size_t maxFileBytes_;
  const std::vector<std::string> resolvers_;
  std::unique_ptr<DnsResolver> resolver_;  // made for the first lookup of a name
  std::string token_;
  std::optional<double> tokenReadAt_;  // when the file was read (monotonic seconds)

  Handler* handler_ = nullptr;  // not owned: the request's, while one runs
  std::string request_;         // the request's bytes, until sent
  std::unique_ptr<StreamConnection> connection_;
  std::unique_ptr<ApiResponseReader> reader_;
  // A reader dropped by cancel() from inside one of its own callbacks (the handler may
  // cancel while a body piece is handed on): freed when the next request begins.
  std::unique_ptr<ApiResponseReader> retiredReader_;
  Timer headTimer_;
  Timer wholeTimer_;  // the whole answer's deadline, when the request has one
  double wholeWithinSeconds_ = 0;
  Timer startLater_;     // get() never calls back from inside itself
  uint64_t requestNumber_ = 0;  // moves with every request: a callback of an old one stops
};

}  // namespace readygate
