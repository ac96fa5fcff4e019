// parseListenerOptions implementation.
#include "config/listener_parser.h"

#include <regex>
#include <set>

namespace readygate {
namespace {

void parseTls(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
              ListenerTls& tls) {
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  if (auto value = map.require("certificates")) {
    std::string listPath = map.childPath("certificates");
    forEachItem(*value, listPath, errors,
                [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                  MapReader entry(item, itemPath, errors);
                  if (!entry.valid()) return;
                  CertificateFiles files;
                  for (auto [key, member] : {std::pair{"cert", &CertificateFiles::cert},
                                             std::pair{"key", &CertificateFiles::key}}) {
                    auto field = entry.require(key);
                    if (!field) continue;
                    auto text = readString(*field, entry.childPath(key), errors);
                    if (text && text->empty()) {
                      errors.addValue(entry.childPath(key), *field, "must name a PEM file");
                    } else if (text) {
                      files.*member = *text;
                    }
                  }
                  entry.finish();
                  tls.certificates.push_back(files);
                });
    if (value->IsSequence() && value->size() == 0) {
      errors.add(listPath, value->Mark(), "needs at least one certificate");
    }
  }
  if (auto value = map.get("clientAuth")) {
    MapReader auth(*value, map.childPath("clientAuth"), errors);
    if (auth.valid()) {
      ClientAuth clientAuth;
      if (auto mode = auth.get("mode")) {
        if (auto required = readEnum<bool>(*mode, auth.childPath("mode"), errors,
                                           {{"required", true}, {"optional", false}})) {
          clientAuth.required = *required;
        }
      }
      if (auto ca = auth.require("ca")) {
        auto text = readString(*ca, auth.childPath("ca"), errors);
        if (text && text->empty()) {
          errors.addValue(auth.childPath("ca"), *ca, "must name a PEM file of CA certificates");
        } else if (text) {
          clientAuth.ca = *text;
        }
      }
      if (auto crl = auth.get("crl")) {
        if (auto text = readString(*crl, auth.childPath("crl"), errors)) clientAuth.crl = *text;
      }
      auth.finish();
      tls.clientAuth = clientAuth;
    }
  }
  if (auto value = map.get("clientSubjectHeader")) {
    static const std::regex kToken("[A-Za-z0-9!#$%&'*+.^_`|~-]+");
    auto text = readString(*value, map.childPath("clientSubjectHeader"), errors);
    if (text && !std::regex_match(*text, kToken)) {
      errors.addValue(map.childPath("clientSubjectHeader"), *value, "must be a header name");
    } else if (text) {
      tls.clientSubjectHeader = *text;
    }
  }
  if (auto value = map.get("minVersion")) {
    if (auto only13 = readEnum<bool>(*value, map.childPath("minVersion"), errors,
                                     {{"1.2", false}, {"1.3", true}})) {
      tls.tls13Only = *only13;
    }
  }
  if (auto value = map.get("strictSni")) {
    if (auto flag = readBool(*value, map.childPath("strictSni"), errors)) tls.strictSni = *flag;
  }
  if (auto value = map.get("handshakeTimeoutSeconds")) {
    if (auto seconds =
            readSeconds(*value, map.childPath("handshakeTimeoutSeconds"), errors, 0.01, 300)) {
      tls.handshakeTimeoutSeconds = *seconds;
    }
  }
  map.finish();
}

void parseProxyProtocol(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                        ProxyProtocolAccept& accept) {
  MapReader map(node, path, errors);
  if (!map.valid()) return;
  if (auto value = map.get("accept")) {
    if (auto version = readEnum<ProxyProtocolVersion>(*value, map.childPath("accept"), errors,
                                                      {{"v1", ProxyProtocolVersion::V1},
                                                       {"v2", ProxyProtocolVersion::V2},
                                                       {"any", ProxyProtocolVersion::Any}})) {
      accept.accept = *version;
    }
  }
  // Required: a header from anyone would let any client say it is anyone.
  if (auto value = map.require("from")) {
    std::string fromPath = map.childPath("from");
    forEachItem(*value, fromPath, errors,
                [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                  auto text = readString(item, itemPath, errors);
                  if (!text) return;
                  auto parsed = Cidr::parse(*text);
                  if (auto* error = std::get_if<std::string>(&parsed)) {
                    errors.addValue(itemPath, item, *error);
                  } else {
                    accept.from.push_back(std::get<Cidr>(parsed));
                  }
                });
    if (value->IsSequence() && value->size() == 0) {
      errors.add(fromPath, value->Mark(), "needs at least one address range");
    }
  }
  map.finish();
}

}  // namespace

void parseListenerOptions(MapReader& map, ConfigErrors& errors, ServiceConfig& service) {
  bool http = service.mode == ProxyMode::Http;
  if (auto value = map.get("tls")) {
    ListenerTls tls;
    parseTls(*value, map.childPath("tls"), errors, tls);
    service.tls = tls;
    if (!tls.clientSubjectHeader.empty() && !http) {
      errors.add(map.childPath("tls") + ".clientSubjectHeader", value->Mark(), "needs mode: http");
    }
    if (!tls.clientSubjectHeader.empty() && !tls.clientAuth) {
      errors.add(map.childPath("tls") + ".clientSubjectHeader", value->Mark(),
                 "needs clientAuth (there is no verified subject without it)");
    }
    if (!service.listens) {
      errors.add(map.childPath("tls"), value->Mark(), "needs listen (TLS is a listener's)");
    }
  }
  if (auto value = map.get("proxyProtocol")) {
    ProxyProtocolAccept accept;
    parseProxyProtocol(*value, map.childPath("proxyProtocol"), errors, accept);
    service.proxyProtocol = accept;
  }
  if (auto value = map.get("sendProxyProtocol")) {
    if (auto version = readEnum<ProxyProtocolVersion>(
            *value, map.childPath("sendProxyProtocol"), errors,
            {{"v1", ProxyProtocolVersion::V1}, {"v2", ProxyProtocolVersion::V2}})) {
      service.sendProxyProtocol = *version;
    }
  }
  if (auto value = map.get("redirectToHttps")) {
    std::string path = map.childPath("redirectToHttps");
    HttpsRedirect redirect;
    MapReader entry(*value, path, errors);
    if (entry.valid()) {
      if (auto port = entry.get("port")) {
        if (auto n = readInt(*port, entry.childPath("port"), errors, 1, 65535)) redirect.port = *n;
      }
      if (auto status = entry.get("status")) {
        if (auto n = readInt(*status, entry.childPath("status"), errors, 301, 308)) {
          if (*n != 301 && *n != 308) {
            errors.addValue(entry.childPath("status"), *status, "must be 301 or 308");
          }
          redirect.status = *n;
        }
      }
      entry.finish();
    }
    if (!http) errors.add(path, value->Mark(), "needs mode: http");
    if (service.tls) errors.add(path, value->Mark(), "is for a plaintext listener (this one has tls)");
    service.redirectToHttps = redirect;
  }
  if (auto value = map.get("hsts")) {
    std::string path = map.childPath("hsts");
    HstsPolicy hsts;
    MapReader entry(*value, path, errors);
    if (entry.valid()) {
      if (auto age = entry.get("maxAgeSeconds")) {
        if (auto seconds = readSeconds(*age, entry.childPath("maxAgeSeconds"), errors, 0,
                                       2.0 * 365 * 86400)) {
          hsts.maxAgeSeconds = *seconds;
        }
      }
      for (auto [key, member] : {std::pair{"includeSubDomains", &HstsPolicy::includeSubDomains},
                                 std::pair{"preload", &HstsPolicy::preload}}) {
        if (auto flag = entry.get(key)) {
          if (auto on = readBool(*flag, entry.childPath(key), errors)) hsts.*member = *on;
        }
      }
      entry.finish();
    }
    if (!http) errors.add(path, value->Mark(), "needs mode: http");
    // Browsers ignore the header over plain HTTP (RFC 6797 8.1): it would do nothing.
    if (!service.tls) errors.add(path, value->Mark(), "needs tls (browsers ignore it over plain HTTP)");
    service.hsts = hsts;
  }
}

}  // namespace readygate
