// Asynchronous DNS lookups (A and AAAA) with c-ares, driven by the control loop's events.
#pragma once

#include <ares.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/socket_address.h"
#include "proxy/core/timer.h"

namespace readygate {

/// One c-ares channel on one event loop. c-ares handles truncated UDP answers by
/// asking again over TCP, so a headless Service with hundreds of records resolves
/// whole (libevent's evdns cannot). Its sockets are close-on-exec. Never blocks.
class DnsResolver {
 public:
  enum class Family { Any, IPv4, IPv6 };
  /// Every address of the name with `port`, or an error text.
  using Result = std::variant<std::vector<SocketAddress>, std::string>;
  using Done = std::function<void(Result)>;

  /// `servers`: "ip[:port]" entries; empty: /etc/resolv.conf. Returns an error text on
  /// a bad server list.
  DnsResolver(event_base* base, const std::vector<std::string>& servers, double timeoutSeconds);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  /// Empty when the channel is usable; the reason otherwise.
  const std::string& error() const { return error_; }
  /// Starts a lookup; `done` runs once on the loop, never inside resolve(), and never
  /// after the resolver is destroyed.
  void resolve(const std::string& name, int port, Family family, Done done);

 private:
  struct Lookup {
    DnsResolver* resolver;
    int port;
    Done done;
  };
  static void onSocketState(void* self, ares_socket_t fd, int readable, int writable);
  static int onSocketCreated(ares_socket_t fd, int type, void* self);
  static void onSocketEvent(evutil_socket_t fd, short what, void* self);
  void onTimer();
  static void onResult(void* lookup, int status, int timeouts, ares_addrinfo* result);
  void armTimer();

  event_base* base_;
  ares_channel channel_ = nullptr;
  std::string error_;
  std::map<ares_socket_t, EventPtr> sockets_;
  std::vector<EventPtr> retired_;  // replaced inside their own callback: freed at the next one
  Timer timer_{Timer::calling<&DnsResolver::onTimer>(base_, this)};
  bool destroying_ = false;
};

}  // namespace readygate
