// What the connector asks of the connections that carry many requests at once (HTTP/2 to
// backends): the HTTP layer keeps them, this layer only asks whether one has room.
#pragma once

#include <string_view>

#include "proxy/upstream/backend.h"

namespace readygate {

class MultiplexedConnections {
 public:
  virtual ~MultiplexedConnections() = default;
  /// An open connection to `backend`, bound to `identity` (as UpstreamPool's), can take
  /// one more stream now.
  virtual bool hasRoom(const Backend& backend, std::string_view identity) const = 0;
};

}  // namespace readygate
