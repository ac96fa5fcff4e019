// One proxied TCP connection: a byte pump between a client and the upstream its connector found.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "proxy/core/timer.h"
#include "proxy/net/byte_pump.h"
#include "proxy/net/session.h"
#include "proxy/upstream/upstream_connector.h"

namespace readygate {

/// Forwards bytes both ways between a client and one backend of `service` (BytePump:
/// backpressure at the service's bufferBytes, half-close); backend choice, retries,
/// accounting and drain come from UpstreamConnector. Runs on one worker's loop; owned by
/// that worker.
class TcpSession : public Session, private UpstreamConnector::Client, private BytePump::Owner {
 public:
  TcpSession(const SessionContext& context, ClientConnection client);
  ~TcpSession() override;
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  static SessionFactory factory();

  void start() override;
  void abort(std::string_view reason) override { finish(reason); }

 private:
  void onUpstreamConnected() override;
  void onUpstreamFailed(std::string_view reason) override;
  void onPumpActivity(bool fromClient, size_t bytes) override;
  void onPumpClosed() override { finish("closed"); }
  void onPumpFailed(bool clientSide, int error) override;
  void finish(std::string_view reason);
  void touch() { idle_.touch(); }
  void onIdleCheck();

  event_base* base_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;  // as they were when the client came
  SessionOwner& owner_;
  SocketAddress peer_;   // the client (after a PROXY header), for sendProxyProtocol
  SocketAddress local_;  // where it connected to
  std::unique_ptr<StreamConnection> client_;
  std::unique_ptr<StreamConnection> upstream_;
  std::optional<BytePump> pump_;
  bool finished_ = false;
  std::string backendName_ = "-";  // for the close line, after the connector let go
  UpstreamConnector connector_;
  Timer idleTimer_;
  IdleWindow idle_;  // measured from the last byte either way
  timeval startedAt_{};
  bool counted_ = false;  // counted in the service's traffic, to be uncounted once
};

}  // namespace readygate
