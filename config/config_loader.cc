// Top-level and per-service configuration parsing and cross-field validation.
#include "config/config_loader.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "config/listener_parser.h"
#include "config/upstream_parser.h"
#include "config/probe_parser.h"
#include "proxy/core/file_reader.h"

namespace readygate {
namespace {

constexpr int kMaxInt = std::numeric_limits<int>::max();
constexpr const char* kDefaultAdminListen = "127.0.0.1:9901";

std::optional<SocketAddress> readAddress(const YAML::Node& node, const std::string& path,
                                         ConfigErrors& errors, bool allowPortZero) {
  std::optional<std::string> text = readString(node, path, errors);
  if (!text) return std::nullopt;
  auto parsed = SocketAddress::parse(*text);
  if (auto* reason = std::get_if<std::string>(&parsed)) {
    errors.addValue(path, node, *reason);
    return std::nullopt;
  }
  SocketAddress address = std::get<SocketAddress>(parsed);
  if (address.port() == 0 && !allowPortZero) {
    errors.addValue(path, node, "port must be between 1 and 65535");
    return std::nullopt;
  }
  return address;
}

bool isLoopback(const SocketAddress& address) {
  std::string host = address.host();
  return host.rfind("127.", 0) == 0 || host == "::1";
}

void parseAdmin(const YAML::Node& node, ConfigErrors& errors, AdminConfig& admin) {
  MapReader map(node, "admin", errors);
  if (auto value = map.get("listen")) {
    if (auto address = readAddress(*value, "admin.listen", errors, true)) admin.listen = *address;
  }
  if (auto value = map.get("readyRequiresBackends")) {
    if (auto flag = readBool(*value, "admin.readyRequiresBackends", errors)) {
      admin.readyRequiresBackends = *flag;
    }
  }
  if (auto value = map.get("tokenFile")) {
    if (auto text = readString(*value, "admin.tokenFile", errors)) admin.tokenFile = *text;
  }
  for (auto [key, member] : {std::pair{"tokenForReads", &AdminConfig::tokenForReads},
                             std::pair{"allowInsecure", &AdminConfig::allowInsecure}}) {
    if (auto value = map.get(key)) {
      if (auto flag = readBool(*value, std::string("admin.") + key, errors)) admin.*member = *flag;
    }
  }
  if (auto value = map.get("maxConnections")) {
    if (auto n = readInt(*value, "admin.maxConnections", errors, 1, 10'000)) {
      admin.maxConnections = *n;
    }
  }
  if (auto value = map.get("requestTimeoutSeconds")) {
    if (auto seconds = readSeconds(*value, "admin.requestTimeoutSeconds", errors, 0.001, 300)) {
      admin.requestTimeoutSeconds = *seconds;
    }
  }
  if (auto value = map.get("writeTimeoutSeconds")) {
    if (auto seconds = readSeconds(*value, "admin.writeTimeoutSeconds", errors, 0.001, 300)) {
      admin.writeTimeoutSeconds = *seconds;
    }
  }
  if (auto value = map.get("names")) {
    forEachItem(*value, "admin.names", errors,
                [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                  if (auto name = readString(item, itemPath, errors)) admin.names.push_back(*name);
                });
  }
  if (admin.tokenForReads && admin.tokenFile.empty()) {
    errors.add("admin.tokenForReads", map.mark(), "needs admin.tokenFile");
  }
  // The admin API drains, disables and reloads: open to a network only with a token.
  if (!isLoopback(admin.listen) && admin.tokenFile.empty()) {
    if (admin.allowInsecure) {
      errors.warn("admin.listen", map.mark(),
                  "listening on " + admin.listen.toString() +
                      " without a token: anyone who reaches it can drain, disable and reload");
    } else {
      errors.add("admin.listen", map.mark(),
                 "not a loopback address: set admin.tokenFile (or admin.allowInsecure: true "
                 "to accept that anyone who reaches it can drain, disable and reload)");
    }
  }
  map.finish();
}

/// `family: any|ipv4|ipv6` of the DNS and Kubernetes sources.
std::optional<DnsEndpoints::Family> readFamily(const YAML::Node& node, const std::string& path,
                                               ConfigErrors& errors) {
  return readEnum<DnsEndpoints::Family>(node, path, errors,
                                        {{"any", DnsEndpoints::Family::Any},
                                         {"ipv4", DnsEndpoints::Family::IPv4},
                                         {"ipv6", DnsEndpoints::Family::IPv6}});
}

/// A Kubernetes object name as Services and namespaces take it (RFC 1123 label,
/// lowercase, at most 63 characters).
bool isKubernetesLabel(const std::string& text) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !text.empty() && text.size() <= 63 && std::regex_match(text, kLabel);
}

void parseKubernetesEndpoints(const YAML::Node& node, const std::string& path,
                              ConfigErrors& errors, ServiceConfig& service) {
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  KubernetesEndpoints source;
  auto label = [&](const char* key, std::string& into, bool required) {
    auto value = required ? map.require(key) : map.get(key);
    if (!value) return;
    if (auto text = readString(*value, map.childPath(key), errors)) {
      if (!isKubernetesLabel(*text)) {
        errors.addValue(map.childPath(key), *value,
                        "must be a Kubernetes name (lowercase letters, digits and '-', at most 63)");
      } else {
        into = *text;
      }
    }
  };
  label("service", source.service, true);
  label("namespace", source.namespaceName, false);
  if (auto port = map.require("port")) {
    // A number is the slices' port number; anything else the port's name ("" unnamed).
    if (port->IsScalar() && !port->Scalar().empty() &&
        port->Scalar().find_first_not_of("0123456789") == std::string::npos) {
      if (auto n = readInt(*port, map.childPath("port"), errors, 1, 65535)) source.portNumber = *n;
    } else if (auto text = readString(*port, map.childPath("port"), errors)) {
      if (!text->empty() && !isKubernetesLabel(*text)) {
        errors.addValue(map.childPath("port"), *port,
                        "must be a port number or a port name as the Service names it");
      } else {
        source.portName = *text;
      }
    }
  }
  if (auto family = map.get("family")) {
    if (auto kind = readFamily(*family, map.childPath("family"), errors)) source.family = *kind;
  }
  if (auto stale = map.get("staleWatchSeconds")) {
    if (auto seconds = readSeconds(*stale, map.childPath("staleWatchSeconds"), errors, 10, 3600)) {
      source.staleWatchSeconds = *seconds;
    }
  }
  if (auto fallback = map.get("terminatingFallback")) {
    if (auto flag = readBool(*fallback, map.childPath("terminatingFallback"), errors)) {
      source.terminatingFallback = *flag;
    }
  }
  map.finish();
  service.endpointsKubernetes = source;
}

void parseEndpoints(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                    ServiceConfig& service) {
  MapReader map(node, path, errors);
  if (auto value = map.get("static")) {
    std::string staticPath = map.childPath("static");
    std::set<std::string> seen;
    forEachItem(*value, staticPath, errors,
                [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                  auto address = readAddress(item, itemPath, errors, false);
                  if (!address) return;
                  if (!seen.insert(address->toString()).second) {
                    errors.addValue(itemPath, item, "duplicate endpoint");
                    return;
                  }
                  service.staticEndpoints.push_back(*address);
                });
  }
  if (auto value = map.get("file")) {
    MapReader file(*value, map.childPath("file"), errors);
    if (file.valid()) {
      if (auto path = file.require("path")) {
        if (auto text = readString(*path, file.childPath("path"), errors)) {
          if (text->empty()) {
            errors.addValue(file.childPath("path"), *path, "must not be empty");
          } else {
            service.endpointsFile = *text;
          }
        }
      }
      file.finish();
    }
  }
  if (auto value = map.get("dns")) {
    MapReader dns(*value, map.childPath("dns"), errors);
    if (dns.valid()) {
      DnsEndpoints source;
      if (auto name = dns.require("name")) {
        static const std::regex kName(
            R"([A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?)");
        if (auto text = readString(*name, dns.childPath("name"), errors)) {
          if (!std::regex_match(*text, kName)) {
            errors.addValue(dns.childPath("name"), *name, "must be a DNS name");
          } else {
            source.name = *text;
          }
        }
      }
      if (auto port = dns.require("port")) {
        if (auto n = readInt(*port, dns.childPath("port"), errors, 1, 65535)) source.port = *n;
      }
      if (auto refresh = dns.get("refreshSeconds")) {
        if (auto seconds = readSeconds(*refresh, dns.childPath("refreshSeconds"), errors, 0.1)) {
          if (*seconds > 3600) {
            errors.addValue(dns.childPath("refreshSeconds"), *refresh, "must be at most 3600");
          } else {
            source.refreshSeconds = *seconds;
          }
        }
      }
      if (auto family = dns.get("family")) {
        if (auto kind = readFamily(*family, dns.childPath("family"), errors)) source.family = *kind;
      }
      dns.finish();
      service.endpointsDns = source;
    }
  }
  if (auto value = map.get("kubernetes")) {
    parseKubernetesEndpoints(*value, map.childPath("kubernetes"), errors, service);
  }
  map.finish();
}

void parseHttp2(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                Http2Settings& http2) {
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  if (auto value = map.get("enabled")) {
    if (auto flag = readBool(*value, map.childPath("enabled"), errors)) http2.enabled = *flag;
  }
  // RFC 9113 bounds the windows (2^31-1) and frames; these are the sane ones below that.
  const std::tuple<const char*, int Http2Settings::*, int, int> sizes[] = {
      {"maxConcurrentStreams", &Http2Settings::maxConcurrentStreams, 1, 10000},
      {"initialStreamWindowBytes", &Http2Settings::initialStreamWindowBytes, 1024, 16 << 20},
      {"initialConnectionWindowBytes", &Http2Settings::initialConnectionWindowBytes, 65535,
       256 << 20},
      {"maxHeaderListBytes", &Http2Settings::maxHeaderListBytes, 1024, 1 << 20},
      {"maxStreamsPerConnection", &Http2Settings::maxStreamsPerConnection, 0, 1 << 30},
      {"glitchThreshold", &Http2Settings::glitchThreshold, 1, 1'000'000},
  };
  for (const auto& [key, member, low, high] : sizes) {
    if (auto value = map.get(key)) {
      if (auto n = readInt(*value, map.childPath(key), errors, low, high)) http2.*member = *n;
    }
  }
  if (auto value = map.get("settingsTimeoutSeconds")) {
    if (auto seconds = readSeconds(*value, map.childPath("settingsTimeoutSeconds"), errors, 0.01, 300)) {
      http2.settingsTimeoutSeconds = *seconds;
    }
  }
  map.finish();
}

void parseHttp(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
               HttpSettings& http) {
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  const std::tuple<const char*, int HttpSettings::*, int, int> sizes[] = {
      {"maxHeaderBytes", &HttpSettings::maxHeaderBytes, 1024, 1 << 20},
      {"maxUrlBytes", &HttpSettings::maxUrlBytes, 256, 1 << 20},
      {"upstreamMaxIdle", &HttpSettings::upstreamMaxIdle, 0, 10000},
  };
  for (const auto& [key, member, low, high] : sizes) {
    if (auto value = map.get(key)) {
      if (auto n = readInt(*value, map.childPath(key), errors, low, high)) http.*member = *n;
    }
  }
  if (auto value = map.get("maxBodyBytes")) {
    // A double holds every byte count up to 2^53 exactly; 1 TiB is the cap.
    if (auto n = readSeconds(*value, map.childPath("maxBodyBytes"), errors, 0, 1e300)) {
      if (*n > 1099511627776.0 || *n != static_cast<double>(static_cast<uint64_t>(*n))) {
        errors.addValue(map.childPath("maxBodyBytes"), *value,
                        "must be a whole number of bytes from 0 (no limit) to 1099511627776");
      } else {
        http.maxBodyBytes = *n;
      }
    }
  }
  const std::pair<const char*, double HttpSettings::*> durations[] = {
      {"headerTimeoutSeconds", &HttpSettings::headerTimeoutSeconds},
      {"keepAliveTimeoutSeconds", &HttpSettings::keepAliveTimeoutSeconds},
      {"responseTimeoutSeconds", &HttpSettings::responseTimeoutSeconds},
      {"upstreamIdleTimeoutSeconds", &HttpSettings::upstreamIdleTimeoutSeconds},
  };
  for (const auto& [key, member] : durations) {
    if (auto value = map.get(key)) {
      if (auto seconds = readSeconds(*value, map.childPath(key), errors, 0.001)) {
        http.*member = *seconds;
      }
    }
  }
  if (auto value = map.get("forwardedHeaders")) {
    if (auto flag = readBool(*value, map.childPath("forwardedHeaders"), errors)) {
      http.forwardedHeaders = *flag;
    }
  }
  if (auto value = map.get("via")) {
    if (auto flag = readBool(*value, map.childPath("via"), errors)) http.via = *flag;
  }
  if (auto value = map.get("trustedProxies")) {
    forEachItem(*value, map.childPath("trustedProxies"), errors,
                [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                  auto text = readString(item, itemPath, errors);
                  if (!text) return;
                  auto parsed = Cidr::parse(*text);
                  if (auto* error = std::get_if<std::string>(&parsed)) {
                    errors.addValue(itemPath, item, *error);
                  } else {
                    http.trustedProxies.push_back(std::get<Cidr>(parsed));
                  }
                });
  }
  if (auto value = map.get("accessLog")) {
    if (auto flag = readBool(*value, map.childPath("accessLog"), errors)) http.accessLog = *flag;
  }
  if (auto value = map.get("pathMatching")) {
    if (auto text = readString(*value, map.childPath("pathMatching"), errors)) {
      if (*text == "normalized" || *text == "raw") {
        http.normalizedPathMatching = *text == "normalized";
      } else {
        errors.addValue(map.childPath("pathMatching"), *value, "must be normalized or raw");
      }
    }
  }
  map.finish();
}

/// `routes:` of an http service. Hosts are names (`api.example.com`) or one-label
/// wildcards (`*.example.com`); prefixes start with '/'. Targets are checked once every
/// service is known (checkAcrossServices).
void parseRoutes(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                 std::vector<RouteConfig>& routes) {
  static const std::regex kHost(
      R"((\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)");
  std::set<std::pair<std::string, std::string>> seen;
  forEachItem(node, path, errors, [&](const YAML::Node& item, const std::string& itemPath, size_t) {
    MapReader map(item, itemPath, errors);
    if (!map.valid()) return;
    RouteConfig route;
    size_t before = errors.size();
    if (auto value = map.get("host")) {
      if (auto host = readString(*value, map.childPath("host"), errors)) {
        std::string lower = *host;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!std::regex_match(lower, kHost)) {
          errors.addValue(map.childPath("host"), *value,
                          "must be a host name (api.example.com) or *.example.com, without port");
        } else {
          route.host = lower;
        }
      }
    }
    if (auto value = map.get("pathPrefix")) {
      if (auto prefix = readString(*value, map.childPath("pathPrefix"), errors)) {
        if (prefix->empty() || prefix->front() != '/' ||
            prefix->find_first_of("?# ") != std::string::npos) {
          errors.addValue(map.childPath("pathPrefix"), *value,
                          "must be a path starting with '/' (no query)");
        } else {
          route.pathPrefix = *prefix;
          while (route.pathPrefix.size() > 1 && route.pathPrefix.back() == '/') {
            route.pathPrefix.pop_back();  // "/api/" and "/api" are the same prefix
          }
        }
      }
    }
    if (auto value = map.require("service")) {
      if (auto service = readString(*value, map.childPath("service"), errors))
        route.service = *service;
    }
    map.finish();
    if (errors.size() != before) return;
    if (!seen.insert({route.host, route.pathPrefix}).second) {
      errors.add(itemPath, item.Mark(),
                 "duplicate route: another route has the same host and pathPrefix");
      return;
    }
    routes.push_back(std::move(route));
  });
}

void parseOutlierDetection(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                           OutlierDetection& outlier) {
  if (node.IsNull()) return;  // `outlierDetection:` alone: every default
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  const std::tuple<const char*, int OutlierDetection::*, int, int> counts[] = {
      {"consecutive5xx", &OutlierDetection::consecutive5xx, 0, 1000},
      {"consecutiveConnectFailures", &OutlierDetection::consecutiveConnectFailures, 0, 1000},
      {"maxEjectionPercent", &OutlierDetection::maxEjectionPercent, 0, 100},
  };
  for (const auto& [key, member, low, high] : counts) {
    if (auto value = map.get(key)) {
      if (auto n = readInt(*value, map.childPath(key), errors, low, high)) outlier.*member = *n;
    }
  }
  const std::pair<const char*, double OutlierDetection::*> durations[] = {
      {"baseEjectionSeconds", &OutlierDetection::baseEjectionSeconds},
      {"maxEjectionSeconds", &OutlierDetection::maxEjectionSeconds},
  };
  for (const auto& [key, member] : durations) {
    if (auto value = map.get(key)) {
      if (auto seconds = readSeconds(*value, map.childPath(key), errors, 0.01))
        outlier.*member = *seconds;
    }
  }
  map.finish();
  if (outlier.maxEjectionSeconds < outlier.baseEjectionSeconds) {
    errors.add(map.childPath("maxEjectionSeconds"), node.Mark(),
               "must be at least baseEjectionSeconds");
  }
}

void parseService(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                  std::vector<ServiceConfig>& services) {
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  size_t errorsBefore = errors.size();
  ServiceConfig service;

  if (auto value = map.require("name")) {
    static const std::regex kNamePattern("[A-Za-z0-9][A-Za-z0-9_.-]*");
    auto name = readString(*value, map.childPath("name"), errors);
    if (name && !std::regex_match(*name, kNamePattern)) {
      errors.addValue(map.childPath("name"), *value,
                      "must be letters, digits, '_', '.' or '-', starting with a letter or digit");
    } else if (name) {
      service.name = *name;
    }
  }
  if (auto value = map.get("listen")) {
    if (auto address = readAddress(*value, map.childPath("listen"), errors, false)) {
      service.listen = *address;
    }
  } else {
    service.listens = false;  // fine for a route target; checked across services
  }
  if (auto value = map.get("mode")) {
    if (auto mode = readEnum<ProxyMode>(*value, map.childPath("mode"), errors,
                                        {{"tcp", ProxyMode::Tcp}, {"http", ProxyMode::Http}})) {
      service.mode = *mode;
    }
  }
  if (auto value = map.get("reusePort")) {
    if (auto sharing = readEnum<bool>(*value, map.childPath("reusePort"), errors,
                                      {{"exclusive", false}, {"shared", true}})) {
      service.sharedPort = *sharing;
    }
  }
  if (!service.listens && service.mode == ProxyMode::Tcp) {
    errors.add(map.childPath("listen"), map.mark(),
               "required (only an http service may go without one, reached through routes)");
  }
  if (auto value = map.get("balance")) {
    if (auto kind = readEnum<BalanceKind>(*value, map.childPath("balance"), errors,
                                          {{"round_robin", BalanceKind::RoundRobin},
                                           {"least_conn", BalanceKind::LeastConn},
                                           {"random_two", BalanceKind::RandomTwo}})) {
      service.balance = *kind;
    }
  }
  if (auto value = map.get("routes"))
    parseRoutes(*value, map.childPath("routes"), errors, service.routes);
  // A router may have no backends of its own: what no route takes is then a 404.
  if (auto value = service.routes.empty() ? map.require("endpoints") : map.get("endpoints")) {
    parseEndpoints(*value, map.childPath("endpoints"), errors, service);
  }
  const std::pair<const char*, ProbeKind> probeKeys[] = {
      {"readinessProbe", ProbeKind::Readiness},
      {"livenessProbe", ProbeKind::Liveness},
      {"startupProbe", ProbeKind::Startup},
  };
  for (const auto& [key, kind] : probeKeys) {
    auto value = map.get(key);
    if (!value) continue;
    std::optional<ProbeSpec> probe = parseProbe(*value, map.childPath(key), kind, errors);
    if (kind == ProbeKind::Readiness) service.readinessProbe = probe;
    if (kind == ProbeKind::Liveness) service.livenessProbe = probe;
    if (kind == ProbeKind::Startup) service.startupProbe = probe;
  }
  if (auto value = map.get("minReady")) {
    if (auto n = readInt(*value, map.childPath("minReady"), errors, 0, kMaxInt)) {
      service.minReady = *n;
    }
  }
  const std::pair<const char*, double ServiceConfig::*> durations[] = {
      {"drainTimeoutSeconds", &ServiceConfig::drainTimeoutSeconds},
      {"connectTimeoutSeconds", &ServiceConfig::connectTimeoutSeconds},
      {"idleTimeoutSeconds", &ServiceConfig::idleTimeoutSeconds},
      {"slowStartSeconds", &ServiceConfig::slowStartSeconds},
  };
  for (const auto& [key, member] : durations) {
    auto value = map.get(key);
    if (!value) continue;
    std::string_view name = key;
    double min = name == "drainTimeoutSeconds" || name == "slowStartSeconds" ? 0 : 0.001;
    if (auto seconds = readSeconds(*value, map.childPath(key), errors, min)) {
      service.*member = *seconds;
    }
  }
  auto retries = map.get("retries");
  const char* retriesKey = "retries";
  if (auto alias = map.get("connectRetries")) {
    if (retries) {
      errors.add(map.childPath("connectRetries"), alias->Mark(),
                 "give either retries or its old name connectRetries, not both");
    } else {
      errors.warn(map.childPath("connectRetries"), alias->Mark(),
                  "deprecated: call it retries (it now also covers HTTP requests)");
      retries = alias;
      retriesKey = "connectRetries";
    }
  }
  if (retries) {
    if (auto n = readInt(*retries, map.childPath(retriesKey), errors, 0, 16)) service.retries = *n;
  }
  const std::tuple<const char*, int ServiceConfig::*, int, int> sizes[] = {
      {"bufferBytes", &ServiceConfig::bufferBytes, 4 * 1024, 16 * 1024 * 1024},
      {"maxConnections", &ServiceConfig::maxConnections, 0, 10'000'000},
      {"maxConnectionsPerClient", &ServiceConfig::maxConnectionsPerClient, 0, 10'000'000},
  };
  for (const auto& [key, member, low, high] : sizes) {
    if (auto value = map.get(key)) {
      if (auto n = readInt(*value, map.childPath(key), errors, low, high)) service.*member = *n;
    }
  }
  if (auto value = map.get("http")) parseHttp(*value, map.childPath("http"), errors, service.http);
  if (auto value = map.get("http2")) {
    parseHttp2(*value, map.childPath("http2"), errors, service.http2);
  }
  if (auto value = map.get("outlierDetection")) {
    OutlierDetection outlier;
    parseOutlierDetection(*value, map.childPath("outlierDetection"), errors, outlier);
    service.outlierDetection = outlier;
  }
  if (auto value = map.get("whenNoneReady")) {
    if (auto policy = readEnum<WhenNoneReady>(
            *value, map.childPath("whenNoneReady"), errors,
            {{"reject", WhenNoneReady::Reject}, {"all", WhenNoneReady::All}})) {
      service.whenNoneReady = *policy;
    }
  }
  parseListenerOptions(map, errors, service);
  parseUpstreamOptions(map, errors, service);
  if (errors.size() == errorsBefore && service.staticEndpoints.empty() &&
      service.endpointsFile.empty() && !service.endpointsDns && !service.endpointsKubernetes &&
      service.routes.empty()) {
    // Valid (a reload or discovery may fill it) but worth saying: /readyz says ready
    // while every connection is refused.
    errors.warn(map.childPath("endpoints"), map.mark(),
                "no endpoints: every connection to this service is refused (503 in HTTP) "
                "until some are added");
  }
  map.finish();
  if (errors.size() == errorsBefore) services.push_back(std::move(service));
}

/// Duplicate names and listen addresses among the services that parsed; `positions`
/// holds each one's index in the file, so the paths stay right when others failed.
void checkDuplicates(const YAML::Node& servicesNode, const std::vector<ServiceConfig>& services,
                     const std::vector<size_t>& positions, ConfigErrors& errors) {
  std::set<std::string> names;
  std::map<uint16_t, std::vector<size_t>> listenersByPort;  // few per port: no n² over services
  for (size_t i = 0; i < services.size(); ++i) {
    std::string path = "services[" + std::to_string(positions[i]) + "]";
    const YAML::Node node = servicesNode[positions[i]];
    if (!names.insert(services[i].name).second) {
      errors.addValue(path + ".name", node["name"], "duplicate service name");
    }
    if (!services[i].listens) continue;
    const SocketAddress& listen = services[i].listen;
    std::vector<size_t>& samePort = listenersByPort[listen.port()];
    for (size_t other : samePort) {
      if (!listen.overlapsListener(services[other].listen)) continue;
      errors.addValue(path + ".listen", node["listen"],
                      listen == services[other].listen
                          ? "address already used by another service"
                          : "overlaps " + services[other].listen.toString() + " of service " +
                                services[other].name + " (a wildcard takes every address)");
      break;
    }
    samePort.push_back(i);
  }
}

/// Routes and reachability: only meaningful once every service parsed (a route to a
/// service with an error of its own is not "no such service").
void checkAcrossServices(const YAML::Node& servicesNode, const std::vector<ServiceConfig>& services,
                         ConfigErrors& errors) {
  std::map<std::string, const ServiceConfig*> byName;
  for (size_t i = 0; i < services.size(); ++i) {
    byName[services[i].name] = &services[i];
  }
  std::set<std::string> routedTo;
  for (size_t i = 0; i < services.size(); ++i) {
    const ServiceConfig& service = services[i];
    std::string path = "services[" + std::to_string(i) + "]";
    const YAML::Node node = servicesNode[i];
    if (!service.routes.empty() && service.mode != ProxyMode::Http) {
      errors.add(path + ".routes", node["routes"].Mark(), "routes need mode: http");
    }
    for (size_t r = 0; r < service.routes.size(); ++r) {
      const RouteConfig& route = service.routes[r];
      std::string routePath = path + ".routes[" + std::to_string(r) + "].service";
      auto target = byName.find(route.service);
      if (target == byName.end()) {
        errors.addValue(routePath, node["routes"][r]["service"],
                        "no such service (routes name a service of this file)");
      } else if (target->second->mode != ProxyMode::Http) {
        errors.addValue(routePath, node["routes"][r]["service"],
                        "a route's service must be mode: http");
      } else {
        routedTo.insert(route.service);
      }
    }
  }
  for (size_t i = 0; i < services.size(); ++i) {
    const ServiceConfig& service = services[i];
    if (service.listens || routedTo.contains(service.name)) continue;
    errors.add("services[" + std::to_string(i) + "]", servicesNode[i].Mark(),
               "needs listen, or a route to it from another service (it is reached neither way)");
  }
}

ConfigLoadResult parseDocument(const YAML::Node& root) {
  ConfigErrors errors;
  Config config;
  config.admin.listen = std::get<SocketAddress>(SocketAddress::parse(kDefaultAdminListen));

  MapReader map(root, "", errors);
  if (map.valid()) {
    if (auto value = map.get("admin")) parseAdmin(*value, errors, config.admin);
    if (auto value = map.get("workers")) {
      if (auto n = readInt(*value, "workers", errors, 0, 256)) config.workers = *n;
    }
    if (auto value = map.get("user")) {
      if (auto name = readString(*value, "user", errors)) {
        if (name->empty()) {
          errors.addValue("user", *value, "must name a user");
        } else {
          config.user = *name;
        }
      }
    }
    if (auto value = map.get("maxConnections")) {
      if (auto n = readInt(*value, "maxConnections", errors, 0, 10'000'000)) {
        config.maxConnections = *n;
      }
    }
    if (auto value = map.get("maxFileBytes")) {
      if (auto n = readInt(*value, "maxFileBytes", errors, 1024, 1 << 30)) {
        config.maxFileBytes = static_cast<size_t>(*n);
      }
    }
    if (auto value = map.get("kubernetes")) {
      MapReader kubernetes(*value, "kubernetes", errors);
      if (kubernetes.valid()) {
        if (auto path = kubernetes.get("kubeconfig")) {
          if (auto text = readString(*path, kubernetes.childPath("kubeconfig"), errors)) {
            if (text->empty()) {
              errors.addValue(kubernetes.childPath("kubeconfig"), *path, "must not be empty");
            } else {
              config.kubernetes.kubeconfig = *text;
            }
          }
        }
        kubernetes.finish();
      }
    }
    if (auto value = map.get("resolvers")) {
      forEachItem(*value, "resolvers", errors,
                  [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                    auto text = readString(item, itemPath, errors);
                    if (!text) return;
                    // "ip" or "ip:port" / "[v6]:port": numeric, as c-ares takes them.
                    auto withPort = SocketAddress::parse(*text);
                    auto bare = SocketAddress::fromHostPort(*text, 53);
                    if (std::holds_alternative<SocketAddress>(withPort) ||
                        std::holds_alternative<SocketAddress>(bare)) {
                      config.resolvers.push_back(*text);
                    } else {
                      errors.addValue(itemPath, item,
                                      "must be a numeric address, with or without port");
                    }
                  });
    }
    if (auto value = map.get("shutdownDelaySeconds")) {
      if (auto seconds = readSeconds(*value, "shutdownDelaySeconds", errors, 0)) {
        if (*seconds > 3600) {
          errors.addValue("shutdownDelaySeconds", *value, "must be at most 3600 seconds");
        } else {
          config.shutdownDelaySeconds = *seconds;
        }
      }
    }
    if (auto value = map.require("services")) {
      size_t errorsBefore = errors.size();
      std::vector<size_t> positions;  // file index of each parsed service
      forEachItem(*value, "services", errors,
                  [&](const YAML::Node& item, const std::string& itemPath, size_t index) {
                    size_t before = config.services.size();
                    parseService(item, itemPath, errors, config.services);
                    if (config.services.size() > before) positions.push_back(index);
                  });
      if (value->IsSequence() && value->size() == 0) {
        errors.add("services", value->Mark(), "needs at least one service");
      }
      // Duplicates are told even when another service has errors: every error at once.
      checkDuplicates(*value, config.services, positions, errors);
      if (errors.size() == errorsBefore) checkAcrossServices(*value, config.services, errors);
    }
    map.finish();
  }

  ConfigLoadResult result;
  result.errors = errors.list();
  result.warnings = errors.warnings();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace

ConfigLoadResult loadConfigText(const std::string& yamlText) {
  YAML::Node root;
  try {
    root = YAML::Load(yamlText);
  } catch (const YAML::Exception& error) {
    ConfigErrors errors;
    errors.add("", error.mark, "YAML syntax error: " + error.msg);
    return ConfigLoadResult{std::nullopt, errors.list(), {}};
  }
  if (!root.IsDefined() || root.IsNull()) {
    ConfigErrors errors;
    errors.add("", YAML::Mark::null_mark(), "configuration is empty");
    return ConfigLoadResult{std::nullopt, errors.list(), {}};
  }
  return parseDocument(root);
}

ConfigLoadResult loadConfigFile(const std::string& path) {
  auto read = readRegularFile(path);
  const std::string* text = fileContent(read);
  if (text == nullptr) {
    ConfigLoadResult result;
    result.errors.push_back(ConfigError{"", "cannot read " + path + ": " + fileError(read)});
    return result;
  }
  return loadConfigText(*text);
}

}  // namespace readygate
