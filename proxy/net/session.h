// What a worker knows of a client session, whatever its protocol.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "proxy/core/socket_address.h"
#include "proxy/transport/buffer_pool.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/upstream/backend_lease.h"
#include "proxy/upstream/connection_admission.h"
#include "proxy/upstream/service.h"
#include "proxy/upstream/upstream_pool.h"

struct event_base;

namespace readygate {

class Session;

/// Who owns sessions: told when one is finished, so it can free it after the current
/// loop pass (nothing is deleted inside its own callback).
class SessionOwner {
 public:
  virtual ~SessionOwner() = default;
  virtual void sessionFinished(Session* session) = 0;
  /// `current` hands its client to `next` (HTTP/1 seeing the h2c preface): `next` takes
  /// its place and its admission ticket and is started; `current` is freed later and must
  /// do nothing more after this call.
  virtual void replaceSession(Session* current, std::unique_ptr<Session> next) = 0;
};

/// One client connection on a worker. A drain deadline of its backend closes it through
/// DrainTarget (see BackendLeases); shutdown closes it through abort().
class Session : public DrainTarget {
 public:
  ~Session() override = default;
  virtual void start() = 0;
  /// Ends the session at once (shutdown deadline, second signal).
  virtual void abort(std::string_view reason) = 0;
  /// Shutdown: a session between requests (an idle keep-alive client) closes now;
  /// one in the middle of something finishes it first. TCP sessions are never idle.
  virtual void closeIfIdle() {}
  void closeForDrain() override { abort("drain_timeout"); }

 private:
  friend class SessionRegistry;
  // The worker's list of open sessions runs through the sessions themselves, so an idle
  // client costs no list node (a hash map's was about 100 bytes per connection).
  Session* previous_ = nullptr;  // not owned
  Session* next_ = nullptr;      // not owned
  AdmissionTicket admission_;    // its places in the connection limits, while registered
};

/// What a session kind above this layer keeps per worker (HTTP: its idle exchanges), made
/// by that kind on first use and destroyed with the worker, after its sessions and
/// before its event loop. Worker thread only.
class WorkerLocal {
 public:
  virtual ~WorkerLocal() = default;
  /// Every 100 ms from the worker's sweep: let go of what is no longer needed.
  virtual void sweep() {}
};

/// What a worker lends a session it creates.
struct SessionContext {
  event_base* base;
  std::shared_ptr<Service> service;
  BackendLeases& leases;
  UpstreamPool& pool;
  BufferPool& buffers;  // the I/O blocks of the worker's connections
  /// The slot for the HTTP sessions' per-worker state (see WorkerLocal).
  std::unique_ptr<WorkerLocal>& perWorker;
  SessionOwner& owner;
  /// Set once the process is shutting down: HTTP answers carry Connection: close.
  const std::atomic<bool>& draining;
};

/// An accepted client, ready for its session: the PROXY header (if any) read and the TLS
/// handshake (if any) done.
struct ClientConnection {
  std::unique_ptr<StreamConnection> connection;
  SocketAddress peer;   // the client: the socket's peer, or what a trusted PROXY header said
  SocketAddress local;  // where it connected to (for sendProxyProtocol); else unset
  bool secure = false;  // TLS; the name asked for with SNI is the transport's serverName()
  /// mTLS, when the service forwards it: the verified client certificate's subject and
  /// URI SANs as one header value; "" when none (or none verified).
  std::string clientSubject;
};

/// Makes the session of a listener's protocol (TCP or HTTP) for an accepted client, and
/// says what a client turned away before any session (a limit, no descriptors) is sent
/// on a plaintext listener: an HTTP 503, or nothing for TCP (just the close). A TLS
/// listener sends nothing: plaintext on a TLS connection is a protocol error.
struct SessionFactory {
  std::function<std::unique_ptr<Session>(const SessionContext& context, ClientConnection client)>
      make;
  std::string refusal;
};

}  // namespace readygate
