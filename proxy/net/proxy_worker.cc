// ProxyWorker implementation.
#include "proxy/net/proxy_worker.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/cidr.h"
#include "proxy/core/log.h"

namespace readygate {
namespace {

/// How often a worker looks for sessions past a removed backend's drain timeout: the
/// resolution of drainTimeoutSeconds, for one pass over this worker's sessions.
constexpr double kRetiredSweepSeconds = 0.1;

}  // namespace

ProxyWorker::ProxyWorker(int index, std::vector<Binding> bindings, ProcessLimit processLimit)
    : index_(index),
      processLimit_(std::move(processLimit)),
      shutdownDeadline_(
          Timer::calling<&ProxyWorker::onShutdownDeadline>(thread_.loop().base(), this)),
      retiredSweep_(
          Timer::calling<&ProxyWorker::closeRetiredSessions>(thread_.loop().base(), this)) {
  event_base* base = thread_.loop().base();
  finished_ = std::make_unique<DeferredDelete<Session>>(base);
  finishedPreambles_ = std::make_unique<DeferredDelete<ClientPreamble>>(base);
  pool_ = std::make_unique<UpstreamPool>(clock_);
  acceptBackoff_ =
      std::make_unique<AcceptBackoff>(base, "worker " + std::to_string(index), [this](bool paused) {
        for (auto& listener : listeners_) {
          if (paused) {
            evconnlistener_disable(listener->listener.get());
          } else {
            evconnlistener_enable(listener->listener.get());
          }
        }
      });
  retiredSweep_.armEvery(kRetiredSweepSeconds);
  for (Binding& binding : bindings) setUpListener(std::move(binding));
}

ProxyWorker::~ProxyWorker() {
  join();
  // Sessions go before the loop (their events belong to its base) and before the buffer
  // pool their connections give blocks back to.
  sessions_.clear();
  finished_.reset();
  preambles_.clear();
  finishedPreambles_.reset();
  perWorker_.reset();
  pool_.reset();
  listeners_.clear();
}

void ProxyWorker::setUpListener(Binding binding) {
  auto listener = std::make_unique<Listener>();
  listener->worker = this;
  listener->service = binding.service;
  listener->address = binding.address;
  listener->makeSession = std::move(binding.makeSession);
  // Backlog 0: the socket is already listening. CLOSE_ON_EXEC: accepted sockets are
  // close-on-exec too, so an exec probe never holds a client connection open.
  listener->listener.reset(evconnlistener_new(
      thread_.loop().base(), &ProxyWorker::onAcceptCallback, listener.get(),
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, binding.socket.release()));
  evconnlistener_set_error_cb(listener->listener.get(), &ProxyWorker::onAcceptError);
  if (acceptBackoff_->paused()) evconnlistener_disable(listener->listener.get());
  listeners_.push_back(std::move(listener));
}

void ProxyWorker::drainAcceptQueue(Listener& listener) {
  evutil_socket_t fd = evconnlistener_get_fd(listener.listener.get());
  while (true) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    int client =
        ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: the queue is empty (or fds ran out: nothing to do)
    onAccept(listener, client, reinterpret_cast<sockaddr*>(&peer), static_cast<int>(length));
  }
}

void ProxyWorker::addListener(Binding binding) {
  auto shared = std::make_shared<Binding>(std::move(binding));
  thread_.loop().post([this, shared] {
    if (!shuttingDown_) setUpListener(std::move(*shared));
  });
}

void ProxyWorker::closeListeners(std::shared_ptr<Service> service,
                                 std::optional<SocketAddress> address) {
  thread_.loop().post([this, service = std::move(service), address] {
    std::erase_if(listeners_, [&](const std::unique_ptr<Listener>& listener) {
      bool closing = listener->service == service && (!address || listener->address == *address);
      if (closing) {
        drainAcceptQueue(*listener);
        for (auto& [raw, open] : preambles_) {
          if (open.listener == listener.get()) open.listener = nullptr;
        }
      }
      return closing;
    });
  });
}

void ProxyWorker::start(std::function<void()> onStopped) { thread_.start(std::move(onStopped)); }

void ProxyWorker::closeAllNow() {
  thread_.loop().post([this] { closeAllSessions(); });
}

void ProxyWorker::join() { thread_.stopAndJoin(); }

void ProxyWorker::beginShutdown(double graceSeconds) {
  thread_.loop().post([this, graceSeconds] {
    if (shuttingDown_) return;
    shuttingDown_ = true;
    draining_.store(true, std::memory_order_relaxed);
    for (auto& listener : listeners_) drainAcceptQueue(*listener);
    listeners_.clear();  // closes the sockets: the kernel stops queueing connections here
    // Clients still in a handshake have sent no request: like idle ones, they go now.
    for (auto& [raw, open] : preambles_) {
      open.preamble->abort();
      finishedPreambles_->later(std::move(open.preamble));
    }
    preambles_.clear();
    for (Session* session : sessions_.list()) session->closeIfIdle();
    logEvent(LogLevel::Info, "worker_draining",
             {{"worker", index_}, {"sessions", sessions_.size()}});
    shutdownDeadline_.arm(graceSeconds);
    stopIfDrained();
  });
}

void ProxyWorker::onAcceptCallback(evconnlistener*, evutil_socket_t fd, sockaddr* peer,
                                   int peerLength, void* context) {
  auto* listener = static_cast<Listener*>(context);
  listener->worker->onAccept(*listener, fd, peer, peerLength);
}

void ProxyWorker::onAccept(Listener& listener, evutil_socket_t fd, const sockaddr* peer,
                           int peerLength) {
  SocketAddress client = SocketAddress::fromSockaddr(peer, static_cast<socklen_t>(peerLength));
  std::shared_ptr<const ServiceSettings> settings = listener.service->settings();
  std::optional<AdmissionTicket> admission;
  if (settings->proxyProtocol) {
    // Only the listed balancers may say who the client is; the limits wait for its word.
    bool trusted = false;
    for (const Cidr& network : settings->proxyProtocol->from) {
      trusted = trusted || network.contains(client);
    }
    if (!trusted) {
      ServiceTraffic::add(listener.service->traffic().proxyHeaderRefused);
      logEvent(LogLevel::Warn, "proxy_header_untrusted",
               {{"service", listener.service->name()}, {"client", client.host()}});
      refuseConnection(fd, "");
      return;
    }
  } else {
    admission = admit(*listener.service, client);
    if (!admission) {
      refuseConnection(fd, refusalFor(listener));
      return;
    }
  }
  if (settings->proxyProtocol || settings->tls) {
    auto preamble = std::make_unique<ClientPreamble>(thread_.loop().base(), buffers_, fd, client,
                                                     listener.service,
                                                     static_cast<ClientPreamble::Owner&>(*this));
    ClientPreamble* raw = preamble.get();
    preambles_.emplace(raw, OpenPreamble{std::move(preamble), std::move(admission), &listener,
                                         listener.service, {listener.makeSession.make, ""}});
    raw->start();  // reports on a later pass, never inside start()
    return;
  }
  ClientConnection ready;
  ready.connection = std::make_unique<StreamConnection>(thread_.loop().base(), buffers_, fd);
  ready.peer = client;
  if (settings->sendProxyProtocol) ready.local = SocketAddress::localOf(fd);
  startSession(listener.service, listener.makeSession, std::move(ready), std::move(*admission));
}

void ProxyWorker::startSession(const std::shared_ptr<Service>& service,
                               const SessionFactory& factory, ClientConnection client,
                               AdmissionTicket admission) {
  SessionContext context{thread_.loop().base(),
                         service,
                         leases_,
                         *pool_,
                         buffers_,
                         perWorker_,
                         static_cast<SessionOwner&>(*this),
                         draining_};
  std::unique_ptr<Session> session = factory.make(context, std::move(client));
  sessions_.add(std::move(session), std::move(admission)).start();
}

void ProxyWorker::onPreambleDone(ClientPreamble& preamble, ClientConnection client) {
  auto found = preambles_.find(&preamble);
  if (found == preambles_.end()) return;
  OpenPreamble open = std::move(found->second);
  preambles_.erase(found);
  finishedPreambles_->later(std::move(open.preamble));
  if (shuttingDown_) return;
  if (!open.admission) {
    open.admission = admit(*open.service, client.peer);
    if (!open.admission) {
      // Behind a PROXY header on a plaintext listener the refusal can still be said.
      if (!client.secure && open.listener) client.connection->write(refusalFor(*open.listener));
      return;  // `client` goes: its connection closes
    }
  }
  startSession(open.service, open.factory, std::move(client), std::move(*open.admission));
}

void ProxyWorker::onPreambleFailed(ClientPreamble& preamble) {
  auto found = preambles_.find(&preamble);
  if (found == preambles_.end()) return;
  finishedPreambles_->later(std::move(found->second.preamble));
  preambles_.erase(found);
}

std::string_view ProxyWorker::refusalFor(const Listener& listener) {
  return listener.service->settings()->tls ? std::string_view() : listener.makeSession.refusal;
}

std::optional<AdmissionTicket> ProxyWorker::admit(Service& service, const SocketAddress& peer) {
  auto settings = service.settings();
  auto refuse = [&](AdmissionRefusal reason) -> std::optional<AdmissionTicket> {
    ServiceTraffic::add(service.traffic().refused[static_cast<size_t>(reason) - 1]);
    logEvent(LogLevel::Warn, "connection_refused",
             {{"service", service.name()}, {"client", peer.host()}, {"reason", toString(reason)}});
    return std::nullopt;
  };
  bool unused = false;
  ConnectionCount& process = *processLimit_.connections;
  if (process.admit("", processLimit_.maxConnections, 0, unused) != AdmissionRefusal::None) {
    return refuse(AdmissionRefusal::ProcessLimit);
  }
  // The address text is made only when a per-client limit needs it.
  std::string client = settings->maxConnectionsPerClient > 0 ? peer.host() : std::string();
  bool countedPerClient = false;
  AdmissionRefusal refusal = service.clients().admit(
      client, settings->maxConnections, settings->maxConnectionsPerClient, countedPerClient);
  if (refusal != AdmissionRefusal::None) {
    process.release("", false);
    return refuse(refusal);
  }
  return AdmissionTicket(&process, &service.clients(), std::move(client), countedPerClient);
}

void ProxyWorker::onAcceptError(evconnlistener*, void* context) {
  auto* listener = static_cast<Listener*>(context);
  int error = EVUTIL_SOCKET_ERROR();
  listener->worker->acceptBackoff_->onAcceptError(evconnlistener_get_fd(listener->listener.get()),
                                                  error, refusalFor(*listener));
}

void ProxyWorker::sessionFinished(Session* session) {
  std::unique_ptr<Session> finished = sessions_.remove(session);
  if (!finished) return;
  finished_->later(std::move(finished));
  stopIfDrained();
}

void ProxyWorker::replaceSession(Session* current, std::unique_ptr<Session> next) {
  Session* raw = next.get();
  std::unique_ptr<Session> old = sessions_.replace(current, next);
  if (!old) return;  // not ours any more: `next` goes with this call
  finished_->later(std::move(old));
  raw->start();
  if (shuttingDown_) raw->closeIfIdle();
}

void ProxyWorker::stopIfDrained() {
  if (shuttingDown_ && sessions_.empty()) {
    shutdownDeadline_.cancel();
    thread_.loop().stop();
  }
}

void ProxyWorker::onShutdownDeadline() {
  logEvent(LogLevel::Warn, "shutdown_deadline",
           {{"worker", index_}, {"closing_sessions", sessions_.size()}});
  closeAllSessions();
}

void ProxyWorker::closeRetiredSessions() {
  leases_.closeExpired(clock_.now());
  pool_->sweep();
  if (perWorker_) perWorker_->sweep();
}

void ProxyWorker::closeAllSessions() {
  for (auto& [raw, open] : preambles_) {
    open.preamble->abort();
    finishedPreambles_->later(std::move(open.preamble));
  }
  preambles_.clear();
  for (Session* session : sessions_.list()) session->abort("shutdown_deadline");
}

}  // namespace readygate
