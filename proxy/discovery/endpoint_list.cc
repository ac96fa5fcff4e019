// parseEndpointList implementation.
#include "proxy/discovery/endpoint_list.h"

#include <yaml-cpp/yaml.h>

#include <unordered_set>

namespace readygate {

std::variant<std::vector<SocketAddress>, std::string> parseEndpointList(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    return "line " + std::to_string(error.mark.line + 1) + ": " + error.msg;
  }
  YAML::Node list = root;
  if (root.IsMap()) list = root["endpoints"];
  if (root.IsNull() || (root.IsMap() && !list)) return std::vector<SocketAddress>{};  // empty file
  if (!list.IsSequence())
    return std::string("must be a list of \"host:port\" (or {endpoints: [...]})");
  std::vector<SocketAddress> endpoints;
  std::unordered_set<SocketAddress, SocketAddressHash> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& item = list[i];
    std::string where =
        "item " + std::to_string(i + 1) + " (line " + std::to_string(item.Mark().line + 1) + ")";
    if (!item.IsScalar()) return where + ": must be a \"host:port\" string";
    auto parsed = SocketAddress::parse(item.Scalar());
    if (auto* error = std::get_if<std::string>(&parsed)) {
      return where + ": \"" + item.Scalar() + "\": " + *error;
    }
    const SocketAddress& address = std::get<SocketAddress>(parsed);
    if (seen.insert(address).second) endpoints.push_back(address);
  }
  return endpoints;
}

}  // namespace readygate
