// DnsResolver implementation.
#include "proxy/discovery/dns_resolver.h"

#include <fcntl.h>
#include <netdb.h>

#include <cstring>

namespace readygate {

DnsResolver::DnsResolver(event_base* base, const std::vector<std::string>& servers,
                         double timeoutSeconds)
    : base_(base) {
  static const bool initialized = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
  if (!initialized) {
    error_ = "c-ares could not be initialized";
    return;
  }
  ares_options options{};
  options.sock_state_cb = &DnsResolver::onSocketState;
  options.sock_state_cb_data = this;
  options.timeout = static_cast<int>(timeoutSeconds * 1000);
  options.tries = 2;
  int status = ares_init_options(&channel_, &options,
                                 ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (status != ARES_SUCCESS) {
    error_ = std::string("c-ares: ") + ares_strerror(status);
    channel_ = nullptr;
    return;
  }
  // Exec probes must inherit no DNS socket.
  ares_set_socket_configure_callback(channel_, &DnsResolver::onSocketCreated, this);
  if (!servers.empty()) {
    std::string csv;
    for (const std::string& server : servers) csv += (csv.empty() ? "" : ",") + server;
    status = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (status != ARES_SUCCESS) error_ = "resolvers: " + std::string(ares_strerror(status));
  }
}

DnsResolver::~DnsResolver() {
  destroying_ = true;  // pending lookups end with ARES_EDESTRUCTION: their callers are gone
  if (channel_) ares_destroy(channel_);
  sockets_.clear();
}

void DnsResolver::resolve(const std::string& name, int port, Family family, Done done) {
  retired_.clear();
  if (!channel_) {
    // Reported on the next pass, like every other answer.
    auto* pending = new std::pair<Done, std::string>(std::move(done), error_);
    event_base_once(
        base_, -1, EV_TIMEOUT,
        [](evutil_socket_t, short, void* arg) {
          std::unique_ptr<std::pair<Done, std::string>> owned(
              static_cast<std::pair<Done, std::string>*>(arg));
          owned->first(owned->second);
        },
        pending, nullptr);
    return;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = family == Family::IPv4   ? AF_INET
                    : family == Family::IPv6 ? AF_INET6
                                             : AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  auto* lookup = new Lookup{this, port, std::move(done)};
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &DnsResolver::onResult, lookup);
  armTimer();
}

void DnsResolver::onResult(void* arg, int status, int, ares_addrinfo* result) {
  std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(arg));
  if (status == ARES_EDESTRUCTION || lookup->resolver->destroying_) {
    if (result) ares_freeaddrinfo(result);
    return;
  }
  if (status != ARES_SUCCESS) {
    if (result) ares_freeaddrinfo(result);
    lookup->done(std::string(ares_strerror(status)));
    return;
  }
  std::vector<SocketAddress> addresses;
  for (ares_addrinfo_node* node = result ? result->nodes : nullptr; node; node = node->ai_next) {
    SocketAddress address =
        SocketAddress::fromSockaddr(node->ai_addr, static_cast<socklen_t>(node->ai_addrlen));
    address = address.withPort(static_cast<uint16_t>(lookup->port));
    bool known = false;
    for (const SocketAddress& seen : addresses) known = known || seen == address;
    if (!known) addresses.push_back(address);
  }
  if (result) ares_freeaddrinfo(result);
  lookup->done(std::move(addresses));
}

int DnsResolver::onSocketCreated(ares_socket_t fd, int, void*) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return 0;
}

void DnsResolver::onSocketState(void* self, ares_socket_t fd, int readable, int writable) {
  auto* resolver = static_cast<DnsResolver*>(self);
  if (resolver->destroying_) return;
  auto found = resolver->sockets_.find(fd);
  if (found != resolver->sockets_.end()) {
    // Possibly inside this very event's callback: stopped now, freed at the next one.
    event_del(found->second.get());
    resolver->retired_.push_back(std::move(found->second));
    resolver->sockets_.erase(found);
  }
  if (!readable && !writable) return;  // c-ares closes it
  short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  EventPtr event(event_new(resolver->base_, fd, what, &DnsResolver::onSocketEvent, resolver));
  event_add(event.get(), nullptr);
  resolver->sockets_[fd] = std::move(event);
}

void DnsResolver::onSocketEvent(evutil_socket_t fd, short what, void* self) {
  auto* resolver = static_cast<DnsResolver*>(self);
  resolver->retired_.clear();  // none of them is the one running now: they were stopped
  ares_process_fd(resolver->channel_, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  resolver->armTimer();
}

void DnsResolver::onTimer() {
  retired_.clear();
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
  armTimer();
}

void DnsResolver::armTimer() {
  timeval longest{1, 0};
  timeval next{};
  if (timeval* wait = ares_timeout(channel_, &longest, &next)) {
    timer_.arm(static_cast<double>(wait->tv_sec) + static_cast<double>(wait->tv_usec) / 1e6);
  }
}

}  // namespace readygate
