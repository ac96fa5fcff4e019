// parseUpstreamOptions implementation.
#include "config/upstream_parser.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace readygate {
namespace {

/// A DNS name (letters, digits, '-', '.') or an IP literal: what SNI and a SAN can carry.
bool isServerName(const std::string& text) {
  unsigned char address[16];
  if (inet_pton(AF_INET, text.c_str(), address) == 1 ||
      inet_pton(AF_INET6, text.c_str(), address) == 1) {
    return true;
  }
  if (text.empty() || text.size() > 253 || text.front() == '.' || text.front() == '-') return false;
  return std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '.';
  });
}

}  // namespace

void parseUpstreamOptions(MapReader& service, ConfigErrors& errors, ServiceConfig& config) {
  if (auto value = service.get("upstreamProtocol")) {
    std::string path = service.childPath("upstreamProtocol");
    if (auto protocol = readEnum<UpstreamProtocol>(*value, path, errors,
                                                   {{"http/1.1", UpstreamProtocol::Http1},
                                                    {"h2", UpstreamProtocol::H2},
                                                    {"h2c", UpstreamProtocol::H2c}})) {
      config.upstreamProtocol = *protocol;
    }
  }
  if (auto value = service.get("retryUnprocessedStreams")) {
    if (auto flag = readBool(*value, service.childPath("retryUnprocessedStreams"), errors)) {
      config.retryUnprocessedStreams = *flag;
    }
  }
  parseUpstreamTls(service, errors, config);
  if (config.upstreamProtocol == UpstreamProtocol::Http1) return;
  std::string path = service.childPath("upstreamProtocol");
  auto mark = service.get("upstreamProtocol")->Mark();
  if (config.mode != ProxyMode::Http) errors.add(path, mark, "needs mode: http");
  if (config.upstreamProtocol == UpstreamProtocol::H2 && !config.upstreamTls) {
    errors.add(path, mark, "h2 needs upstreamTls (h2c is HTTP/2 in cleartext)");
  }
  if (config.upstreamProtocol == UpstreamProtocol::H2c && config.upstreamTls) {
    errors.add(path, mark, "h2c is cleartext: with upstreamTls say h2");
  }
  if (config.sendProxyProtocol) {
    errors.add(path, mark,
               "cannot go with sendProxyProtocol (a multiplexed connection speaks for many clients)");
  }
}

void parseUpstreamTls(MapReader& service, ConfigErrors& errors, ServiceConfig& config) {
  auto node = service.get("upstreamTls");
  if (!node) return;
  std::string path = service.childPath("upstreamTls");
  UpstreamTls tls;
  if (node->IsScalar()) {
    // `upstreamTls: true` is the short form: verified against the system's CAs.
    auto on = readBool(*node, path, errors);
    if (on && *on) config.upstreamTls = tls;
    return;
  }
  MapReader map(*node, path, errors);
  if (!map.valid()) return;
  if (auto value = map.get("verify")) {
    if (auto flag = readBool(*value, map.childPath("verify"), errors)) tls.verify = *flag;
  }
  for (auto [key, member] : {std::pair{"ca", &UpstreamTls::ca}, std::pair{"cert", &UpstreamTls::cert},
                             std::pair{"key", &UpstreamTls::key}}) {
    auto value = map.get(key);
    if (!value) continue;
    auto text = readString(*value, map.childPath(key), errors);
    if (text && text->empty()) {
      errors.addValue(map.childPath(key), *value, "must name a PEM file");
    } else if (text) {
      tls.*member = *text;
    }
  }
  if (auto value = map.get("serverName")) {
    auto text = readString(*value, map.childPath("serverName"), errors);
    if (text && !isServerName(*text)) {
      errors.addValue(map.childPath("serverName"), *value, "must be a host name or an IP address");
    } else if (text) {
      std::string lower = *text;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      tls.serverName = lower;
    }
  }
  if (tls.cert.empty() != tls.key.empty()) {
    errors.add(path, map.mark(), "cert and key go together (a client certificate needs its key)");
  }
  if (!tls.verify && !tls.ca.empty()) {
    errors.add(path + ".ca", map.mark(), "is unused with verify: false");
  }
  map.finish();
  if (!tls.verify) {
    errors.warn(path + ".verify", map.mark(),
                "false: any certificate is accepted, so anyone on the path can read the traffic");
  }
  config.upstreamTls = tls;
}

}  // namespace readygate
