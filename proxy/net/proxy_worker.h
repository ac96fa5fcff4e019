// A worker thread: its own event loop, its own listener per service, its sessions.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proxy/core/accept_backoff.h"
#include "proxy/core/clock.h"
#include "proxy/core/deferred_delete.h"
#include "proxy/core/event_loop.h"
#include "proxy/core/timer.h"
#include "proxy/net/client_preamble.h"
#include "proxy/net/listening_socket.h"
#include "proxy/net/session.h"
#include "proxy/net/session_registry.h"
#include "proxy/upstream/backend_lease.h"
#include "proxy/upstream/service.h"
#include "proxy/upstream/upstream_pool.h"

namespace readygate {

/// Accepts and forwards connections for every service on one thread. Owns its
/// listeners and sessions; shares only Services (read via snapshots) with others.
class ProxyWorker : private SessionOwner, private ClientPreamble::Owner {
 public:
  struct Binding {
    std::shared_ptr<Service> service;
    SocketAddress address;  // as configured, to close the right one when `listen` moves
    ListeningSocket socket;
    SessionFactory makeSession;  // TCP or HTTP, by the service's mode
  };

  /// What all workers share: the process's open client connections and its limit.
  struct ProcessLimit {
    std::shared_ptr<ConnectionCount> connections = std::make_shared<ConnectionCount>();
    int maxConnections = 0;  // 0: none
  };

  ProxyWorker(int index, std::vector<Binding> bindings, ProcessLimit processLimit);
  ~ProxyWorker() override;

  /// Starts the thread; `onStopped` runs on it when the worker has drained and stopped.
  void start(std::function<void()> onStopped);
  /// Shutdown has begun but listeners still accept (shutdownDelaySeconds): sessions
  /// stop keeping clients alive. Thread-safe.
  void beginDraining() { draining_.store(true, std::memory_order_relaxed); }
  /// Stops accepting at once; idle keep-alive clients are closed; open sessions may
  /// finish for up to `graceSeconds`, then are closed and the thread ends. Thread-safe.
  void beginShutdown(double graceSeconds);
  /// Closes every open session now (a second SIGTERM). Thread-safe.
  void closeAllNow();
  /// Reload: starts accepting on an already bound socket. Thread-safe.
  void addListener(Binding binding);
  /// Reload: stops accepting for `service` (on `address` only, when given); open
  /// sessions carry on. Thread-safe.
  void closeListeners(std::shared_ptr<Service> service, std::optional<SocketAddress> address);
  void join();

 private:
  struct Listener {
    ProxyWorker* worker;
    std::shared_ptr<Service> service;
    SocketAddress address;
    SessionFactory makeSession;
    ListenerPtr listener;
  };

  void setUpListener(Binding binding);
  /// Accepts whatever waits in the listener's queue: closing a listening socket resets
  /// the connections still queued on it, and those clients did nothing wrong.
  void drainAcceptQueue(Listener& listener);
  void onAccept(Listener& listener, evutil_socket_t fd, const sockaddr* peer, int peerLength);
  /// Takes the client's places in the process's and the service's limits, or refuses it
  /// (counted by reason) and returns nullopt.
  std::optional<AdmissionTicket> admit(Service& service, const SocketAddress& peer);
  /// What a refused client is sent: nothing on a TLS listener.
  static std::string_view refusalFor(const Listener& listener);
  /// Makes and starts the session of a client that is ready for one.
  void startSession(const std::shared_ptr<Service>& service, const SessionFactory& factory,
                    ClientConnection client, AdmissionTicket admission);
  void onPreambleDone(ClientPreamble& preamble, ClientConnection client) override;
  void onPreambleFailed(ClientPreamble& preamble) override;
  void sessionFinished(Session* session) override;
  void replaceSession(Session* current, std::unique_ptr<Session> next) override;
  void stopIfDrained();
  void closeAllSessions();
  /// Closes upstream connections whose backend was removed and whose drain time is up.
  void closeRetiredSessions();
  void onShutdownDeadline();

  static void onAcceptCallback(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self);
  static void onAcceptError(evconnlistener*, void* self);

  const int index_;
  EventLoopThread thread_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  BufferPool buffers_;    // I/O blocks of this worker's connections
  std::unique_ptr<WorkerLocal> perWorker_;  // the HTTP sessions' (their idle exchanges)
  BackendLeases leases_;  // before sessions_: sessions unregister from it as they go
  SessionRegistry sessions_;
  /// Clients still in their PROXY header or TLS handshake; the admission is taken at
  /// accept, or (behind a PROXY header) once the real client is known.
  struct OpenPreamble {
    std::unique_ptr<ClientPreamble> preamble;
    std::optional<AdmissionTicket> admission;
    Listener* listener;  // not owned; cleared when the listener closes first (a reload)
    // The session to make, kept here too: a client mid-handshake when its listener
    // closes still gets its session, as sessions of a closed listener carry on.
    std::shared_ptr<Service> service;
    SessionFactory factory;
  };
  std::unordered_map<ClientPreamble*, OpenPreamble> preambles_;
  std::unique_ptr<DeferredDelete<ClientPreamble>> finishedPreambles_;
  ProcessLimit processLimit_;
  std::unique_ptr<DeferredDelete<Session>> finished_;  // freed after the pass that finished them
  std::unique_ptr<AcceptBackoff> acceptBackoff_;       // out of descriptors: pause, refuse, resume
  Timer shutdownDeadline_;  // on thread_'s loop, declared after it: gone before it
  Timer retiredSweep_;      // periodic: drain timeouts of removed backends
  SteadyClock clock_;
  std::unique_ptr<UpstreamPool> pool_;  // idle keep-alive connections (HTTP)
  bool shuttingDown_ = false;
  std::atomic<bool> draining_{false};
};

}  // namespace readygate
