// Names of configuration enums, as written in YAML and shown in logs.
#include "config/config_types.h"

namespace readygate {

const char* toString(ProxyMode mode) { return mode == ProxyMode::Http ? "http" : "tcp"; }

const char* toString(BalanceKind kind) {
  switch (kind) {
    case BalanceKind::RoundRobin:
      return "round_robin";
    case BalanceKind::LeastConn:
      return "least_conn";
    case BalanceKind::RandomTwo:
      return "random_two";
  }
  return "round_robin";
}

const char* toString(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::Readiness:
      return "readiness";
    case ProbeKind::Liveness:
      return "liveness";
    case ProbeKind::Startup:
      return "startup";
  }
  return "readiness";
}

}  // namespace readygate
