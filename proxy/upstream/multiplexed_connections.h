// What the connector asks of the connections that carry many requests at once (HTTP/2 to
// backends): the HTTP layer keeps them, this layer only asks whether one has room.
#pragma once

#include <memory>
#include <string_view>

#include "proxy/upstream/backend.h"

namespace readygate {

class MultiplexedConnections {
 public:
  virtual ~MultiplexedConnections() = default;
  /// An open connection to `backend`, bound to `identity` (as UpstreamPool's), can take
  /// one more stream now.
  /// True too while a connection to it is being made that will have room: the caller
  /// waits for it rather than opening one more.
  virtual bool hasRoom(const Backend& backend, std::string_view identity) const = 0;
  /// A new connection to `backend` is being made (connect, TLS); it ends either in the
  /// HTTP layer's adopting it or in connectAbandoned.
  virtual void connectStarted(std::shared_ptr<Backend> backend, std::string_view identity) = 0;
  virtual void connectAbandoned(const Backend& backend, std::string_view identity) = 0;
};

}  // namespace readygate
