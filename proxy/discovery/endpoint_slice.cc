// EndpointSlice parsing and the discovery/v1 rules for the endpoints of one port.
#include "proxy/discovery/endpoint_slice.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace readygate {
namespace {

using nlohmann::json;

/// The string at `key` of `object`; "" when missing or null; an error when another type.
bool stringAt(const json& object, const char* key, std::string& into, std::string& error,
              std::string_view where) {
  auto found = object.find(key);
  if (found == object.end() || found->is_null()) return true;
  if (!found->is_string()) {
    error = std::string(where) + key + ": not a string";
    return false;
  }
  into = found->get<std::string>();
  return true;
}

bool conditionAt(const json& conditions, const char* key, std::optional<bool>& into,
                 std::string& error) {
  auto found = conditions.find(key);
  if (found == conditions.end() || found->is_null()) return true;
  if (!found->is_boolean()) {
    error = std::string("endpoints[].conditions.") + key + ": not a boolean";
    return false;
  }
  into = found->get<bool>();
  return true;
}

std::optional<std::string> parseEndpoint(const json& item, SliceEndpoint& endpoint) {
  if (!item.is_object()) return "endpoints[]: not an object";
  std::string error;
  auto addresses = item.find("addresses");
  if (addresses == item.end() || !addresses->is_array()) return "endpoints[].addresses: missing";
  for (const json& address : *addresses) {
    if (!address.is_string()) return "endpoints[].addresses[]: not a string";
    endpoint.addresses.push_back(address.get<std::string>());
  }
  auto conditions = item.find("conditions");
  if (conditions != item.end() && !conditions->is_null()) {
    if (!conditions->is_object()) return "endpoints[].conditions: not an object";
    if (!conditionAt(*conditions, "ready", endpoint.ready, error) ||
        !conditionAt(*conditions, "serving", endpoint.serving, error) ||
        !conditionAt(*conditions, "terminating", endpoint.terminating, error)) {
      return error;
    }
  }
  auto target = item.find("targetRef");
  if (target != item.end() && target->is_object()) {
    std::string kind;
    if (!stringAt(*target, "kind", kind, error, "endpoints[].targetRef.")) return error;
    if (kind == "Pod" && !stringAt(*target, "name", endpoint.pod, error, "endpoints[].targetRef.")) {
      return error;
    }
  }
  if (!stringAt(item, "nodeName", endpoint.node, error, "endpoints[].") ||
      !stringAt(item, "zone", endpoint.zone, error, "endpoints[].")) {
    return error;
  }
  return std::nullopt;
}

std::optional<std::string> parsePort(const json& item, SlicePort& port) {
  if (!item.is_object()) return "ports[]: not an object";
  std::string error;
  if (!stringAt(item, "name", port.name, error, "ports[].")) return error;
  std::string protocol;
  if (!stringAt(item, "protocol", protocol, error, "ports[].")) return error;
  if (!protocol.empty()) port.protocol = protocol;
  auto number = item.find("port");
  if (number != item.end() && !number->is_null()) {
    if (!number->is_number_integer()) return "ports[].port: not an integer";
    int64_t value = number->get<int64_t>();
    if (value < 1 || value > 65535) return "ports[].port: " + std::to_string(value) + " is out of range";
    port.port = static_cast<int>(value);
  }
  return std::nullopt;
}

/// How far an endpoint's conditions put it ahead of another copy of the same address.
int preference(const DiscoveredEndpoint& endpoint) {
  const ClusterConditions& c = *endpoint.cluster;
  return (c.terminating ? 0 : 4) + (c.ready ? 2 : 0) + (c.serving ? 1 : 0);
}

}  // namespace

std::variant<EndpointSlice, std::string> parseEndpointSlice(const json& object) {
  if (!object.is_object()) return std::string("an EndpointSlice must be an object");
  EndpointSlice slice;
  std::string error;
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return std::string("metadata: missing");
  if (!stringAt(*metadata, "name", slice.name, error, "metadata.") ||
      !stringAt(*metadata, "resourceVersion", slice.resourceVersion, error, "metadata.")) {
    return error;
  }
  if (slice.name.empty()) return std::string("metadata.name: missing");
  if (!stringAt(object, "addressType", slice.addressType, error, "")) return error;
  auto ports = object.find("ports");
  if (ports != object.end() && !ports->is_null()) {
    if (!ports->is_array()) return std::string("ports: not a list");
    for (const json& item : *ports) {
      SlicePort port;
      if (auto problem = parsePort(item, port)) return *problem;
      slice.ports.push_back(std::move(port));
    }
  }
  auto endpoints = object.find("endpoints");
  if (endpoints != object.end() && !endpoints->is_null()) {
    if (!endpoints->is_array()) return std::string("endpoints: not a list");
    slice.endpoints.reserve(endpoints->size());
    for (const json& item : *endpoints) {
      SliceEndpoint endpoint;
      if (auto problem = parseEndpoint(item, endpoint)) return *problem;
      slice.endpoints.push_back(std::move(endpoint));
    }
  }
  return slice;
}

std::vector<DiscoveredEndpoint> resolveSliceEndpoints(
    const std::map<std::string, EndpointSlice>& slices, const SlicePortSelector& wanted,
    SliceFamily family) {
  std::vector<DiscoveredEndpoint> endpoints;
  for (const auto& [name, slice] : slices) {
    bool v4 = slice.addressType == "IPv4";
    bool v6 = slice.addressType == "IPv6";
    if (!v4 && !v6) continue;  // FQDN, or a type this version does not know
    if ((family == SliceFamily::IPv4 && !v4) || (family == SliceFamily::IPv6 && !v6)) continue;
    auto port = std::find_if(slice.ports.begin(), slice.ports.end(), [&](const SlicePort& p) {
      if (p.protocol != "TCP" || !p.port) return false;
      return wanted.number > 0 ? *p.port == wanted.number : p.name == wanted.name;
    });
    if (port == slice.ports.end()) continue;
    for (const SliceEndpoint& endpoint : slice.endpoints) {
      if (endpoint.addresses.empty()) continue;
      auto parsed = SocketAddress::fromHostPort(endpoint.addresses.front(), *port->port);
      auto* address = std::get_if<SocketAddress>(&parsed);
      if (address == nullptr || (address->family() == AF_INET) != v4) continue;
      ClusterConditions conditions;
      conditions.ready = endpoint.ready.value_or(true);
      conditions.serving = endpoint.serving.value_or(conditions.ready);
      conditions.terminating = endpoint.terminating.value_or(false);
      conditions.pod = endpoint.pod;
      conditions.node = endpoint.node;
      conditions.zone = endpoint.zone;
      endpoints.push_back(DiscoveredEndpoint{*address, std::move(conditions)});
    }
  }
  // Copies of one address next to each other, the preferred first; then one of each.
  std::stable_sort(endpoints.begin(), endpoints.end(),
                   [](const DiscoveredEndpoint& a, const DiscoveredEndpoint& b) {
                     if (a.address < b.address) return true;
                     if (b.address < a.address) return false;
                     return preference(a) > preference(b);
                   });
  endpoints.erase(std::unique(endpoints.begin(), endpoints.end(),
                              [](const DiscoveredEndpoint& a, const DiscoveredEndpoint& b) {
                                return a.address == b.address;
                              }),
                  endpoints.end());
  return endpoints;
}

}  // namespace readygate
