// EndpointSlices (discovery.k8s.io/v1) read from JSON, and the endpoints a set of them
// gives one port, with the API's rules for conditions, duplicates and address types; no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "proxy/core/socket_address.h"
#include "proxy/health/endpoint_conditions.h"

namespace readygate {

/// One endpoint of a slice as the API gives it: conditions may be missing (null).
struct SliceEndpoint {
  std::vector<std::string> addresses;
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
  std::string pod;   // targetRef.name of a Pod ("" when none)
  std::string node;  // nodeName
  std::string zone;
};

struct SlicePort {
  std::string name;           // "" for an unnamed port
  std::optional<int> port;    // null: "all ports", which no consumer can route to
  std::string protocol = "TCP";
};

struct EndpointSlice {
  std::string name;             // metadata.name: the slice's key
  std::string resourceVersion;  // metadata.resourceVersion
  std::string addressType;      // "IPv4", "IPv6" or "FQDN"
  std::vector<SlicePort> ports;
  std::vector<SliceEndpoint> endpoints;
};

/// `object` (one item of a list, or a watch event's object) as a slice; a message
/// saying what is wrong when it is not one. Unknown fields are ignored, as clients of the
/// API must.
std::variant<EndpointSlice, std::string> parseEndpointSlice(const nlohmann::json& object);

/// Which port of the slices a service takes: a port's name ("" matches the unnamed
/// one), or, when `number` is set, the slice port with that number (the endpoints' target
/// port, not the Service's port).
struct SlicePortSelector {
  std::string name;
  int number = 0;  // 0: by name
};

enum class SliceFamily { Any, IPv4, IPv6 };

/// The union of every slice of a Service (whatever manages it) for `port`, each endpoint
/// with its conditions read the API's way (a missing `ready` is true, a missing `serving`
/// is what `ready` is, a missing `terminating` false): FQDN slices
/// and families not wanted are skipped, an endpoint counts by its first address only (as
/// kube-proxy does), and an address:port that several slices list counts once, the
/// non-terminating copy kept where they disagree (a pod moving between slices is listed
/// twice for a moment). In address order (SocketAddress's <). Addresses that are not numeric IPs are skipped.
std::vector<DiscoveredEndpoint> resolveSliceEndpoints(
    const std::map<std::string, EndpointSlice>& slices, const SlicePortSelector& port,
    SliceFamily family);

}  // namespace readygate
