// Probe block parsing with the kubelet's defaults and limits.
#include "config/probe_parser.h"

#include <limits>

namespace readygate {
namespace {

constexpr int kMaxInt = std::numeric_limits<int>::max();
// Kubernetes' minimum is 1 s; fractions down to 10 ms are our extension for fast
// detection and fast tests. Below that a period is a busy loop, not a probe.
constexpr double kMinPeriodSeconds = 0.01;

std::optional<int> readPort(const YAML::Node& node, const std::string& path, ConfigErrors& errors) {
  long number = 0;
  if (node.IsScalar() && !YAML::convert<long>::decode(node, number)) {
    errors.addValue(path, node, "named ports are not supported here; give the port number");
    return std::nullopt;
  }
  return readInt(node, path, errors, 1, 65535);
}

void parseTls(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
              ProbeTlsOptions& tls) {
  MapReader map(node, path, errors);
  if (auto value = map.get("verify")) {
    if (auto verify = readBool(*value, map.childPath("verify"), errors)) tls.verify = *verify;
  }
  if (auto value = map.get("ca")) {
    if (auto ca = readString(*value, map.childPath("ca"), errors)) tls.caFile = *ca;
  }
  if (auto value = map.get("serverName")) {
    if (auto name = readString(*value, map.childPath("serverName"), errors)) {
      tls.serverName = *name;
    }
  }
  map.finish();
}

std::optional<HttpHeader> parseHeader(const YAML::Node& node, const std::string& path,
                                      ConfigErrors& errors) {
  MapReader map(node, path, errors);
  size_t errorsBefore = errors.size();
  HttpHeader header;
  if (auto name = map.require("name")) {
    std::string namePath = map.childPath("name");
    std::optional<std::string> text = readString(*name, namePath, errors);
    if (text && (text->empty() || text->find_first_of(" :\r\n\t") != std::string::npos)) {
      errors.addValue(namePath, *name, "is not a valid header name");
    } else if (text) {
      header.name = *text;
    }
  }
  if (auto value = map.require("value")) {
    std::string valuePath = map.childPath("value");
    std::optional<std::string> text = readString(*value, valuePath, errors);
    if (text && text->find_first_of("\r\n") != std::string::npos) {
      errors.addValue(valuePath, *value, "must not contain line breaks");
    } else if (text) {
      header.value = *text;
    }
  }
  map.finish();
  if (errors.size() != errorsBefore) return std::nullopt;
  return header;
}

void parseHttpGet(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                  HttpGetAction& action) {
  MapReader map(node, path, errors);
  if (auto value = map.get("path")) {
    if (auto text = readString(*value, map.childPath("path"), errors)) {
      if (text->empty() || text->front() != '/') {
        errors.addValue(map.childPath("path"), *value, "must start with '/'");
      } else if (text->find_first_of(" \r\n") != std::string::npos) {
        errors.addValue(map.childPath("path"), *value, "must not contain spaces or line breaks");
      } else {
        action.path = *text;
      }
    }
  }
  if (auto value = map.get("port")) action.port = readPort(*value, map.childPath("port"), errors);
  if (auto value = map.get("host")) {
    if (auto host = readString(*value, map.childPath("host"), errors)) action.host = *host;
  }
  if (auto value = map.get("scheme")) {
    if (auto https = readEnum<bool>(*value, map.childPath("scheme"), errors,
                                    {{"HTTP", false}, {"HTTPS", true}})) {
      action.https = *https;
    }
  }
  if (auto value = map.get("httpHeaders")) {
    forEachItem(*value, map.childPath("httpHeaders"), errors,
                [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                  if (auto header = parseHeader(item, itemPath, errors)) {
                    action.headers.push_back(std::move(*header));
                  }
                });
  }
  if (auto value = map.get("tls")) parseTls(*value, map.childPath("tls"), errors, action.tls);
  map.finish();
}

}  // namespace

std::optional<ProbeSpec> parseProbe(const YAML::Node& node, const std::string& path, ProbeKind kind,
                                    ConfigErrors& errors) {
  MapReader map(node, path, errors);
  if (!map.valid()) return std::nullopt;
  size_t errorsBefore = errors.size();
  ProbeSpec spec;

  int handlers = 0;
  if (auto value = map.get("httpGet")) {
    ++handlers;
    spec.handler = ProbeSpec::Handler::HttpGet;
    parseHttpGet(*value, map.childPath("httpGet"), errors, spec.httpGet);
  }
  if (auto value = map.get("tcpSocket")) {
    ++handlers;
    spec.handler = ProbeSpec::Handler::TcpSocket;
    MapReader tcp(*value, map.childPath("tcpSocket"), errors);
    if (auto port = tcp.get("port")) {
      spec.tcpSocket.port = readPort(*port, tcp.childPath("port"), errors);
    }
    tcp.finish();
  }
  if (auto value = map.get("exec")) {
    ++handlers;
    spec.handler = ProbeSpec::Handler::Exec;
    MapReader exec(*value, map.childPath("exec"), errors);
    if (auto command = exec.require("command")) {
      std::string commandPath = exec.childPath("command");
      forEachItem(*command, commandPath, errors,
                  [&](const YAML::Node& item, const std::string& itemPath, size_t) {
                    if (auto arg = readString(item, itemPath, errors)) {
                      spec.exec.command.push_back(*arg);
                    }
                  });
      if (command->IsSequence() && command->size() == 0) {
        errors.add(commandPath, command->Mark(), "must name a program to run");
      }
    }
    exec.finish();
  }
  if (auto value = map.get("grpc")) {
    ++handlers;
    spec.handler = ProbeSpec::Handler::Grpc;
    MapReader grpc(*value, map.childPath("grpc"), errors);
    if (auto port = grpc.require("port")) {
      if (auto number = readPort(*port, grpc.childPath("port"), errors)) spec.grpc.port = *number;
    }
    if (auto service = grpc.get("service")) {
      if (auto name = readString(*service, grpc.childPath("service"), errors)) {
        spec.grpc.service = *name;
      }
    }
    if (auto tls = grpc.get("tls")) {
      ProbeTlsOptions options;
      parseTls(*tls, grpc.childPath("tls"), errors, options);
      spec.grpc.tls = options;
    }
    grpc.finish();
  }
  if (handlers == 0) {
    errors.add(path, map.mark(), "needs one handler: httpGet, tcpSocket, exec or grpc");
  } else if (handlers > 1) {
    errors.add(path, map.mark(), "may have only one handler of httpGet, tcpSocket, exec, grpc");
  }

  if (auto value = map.get("initialDelaySeconds")) {
    if (auto s = readSeconds(*value, map.childPath("initialDelaySeconds"), errors, 0)) {
      spec.initialDelaySeconds = *s;
    }
  }
  if (auto value = map.get("periodSeconds")) {
    if (auto s = readSeconds(*value, map.childPath("periodSeconds"), errors, kMinPeriodSeconds)) {
      spec.periodSeconds = *s;
    }
  }
  if (auto value = map.get("timeoutSeconds")) {
    if (auto s = readSeconds(*value, map.childPath("timeoutSeconds"), errors, kMinPeriodSeconds)) {
      spec.timeoutSeconds = *s;
    }
  }
  if (auto value = map.get("successThreshold")) {
    std::string thresholdPath = map.childPath("successThreshold");
    if (auto n = readInt(*value, thresholdPath, errors, 1, kMaxInt)) {
      if (kind != ProbeKind::Readiness && *n != 1) {
        errors.addValue(thresholdPath, *value,
                        std::string("must be 1 for a ") + toString(kind) + " probe");
      } else {
        spec.successThreshold = *n;
      }
    }
  }
  if (auto value = map.get("failureThreshold")) {
    if (auto n = readInt(*value, map.childPath("failureThreshold"), errors, 1, kMaxInt)) {
      spec.failureThreshold = *n;
    }
  }
  if (auto value = map.get("terminationGracePeriodSeconds")) {
    // Pasted pod specs carry it; it governs container kills, which readygate does not do.
    (void)value;
  }
  map.finish();
  if (errors.size() != errorsBefore) return std::nullopt;
  return spec;
}

}  // namespace readygate
