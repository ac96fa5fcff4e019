// Typed configuration: what a readygate YAML file means once loaded and validated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proxy/core/cidr.h"
#include "proxy/core/socket_address.h"

namespace readygate {

enum class ProxyMode {
  Tcp,   // L4: bytes forwarded as they are
  Http,  // L7: HTTP/1.1 parsed, 503 when no backend is ready
};

enum class BalanceKind {
  RoundRobin,  // each eligible backend in turn
  LeastConn,   // fewest active connections, ties in turn
  RandomTwo,   // power of two random choices, the less loaded wins
};

enum class WhenNoneReady {
  Reject,  // HTTP 503 / TCP close: unready pods never get traffic
  All,     // fail open to every non-draining backend, explicitly chosen
};

struct HttpHeader {
  std::string name;
  std::string value;

  bool operator==(const HttpHeader&) const = default;
};

/// Opt-in certificate checks for HTTPS probes (the kubelet verifies nothing).
struct ProbeTlsOptions {
  bool verify = false;
  std::string caFile;      // empty: system trust store
  std::string serverName;  // SNI and name to verify; empty: none

  bool operator==(const ProbeTlsOptions&) const = default;
};

struct HttpGetAction {
  std::string host;  // empty: the backend's address
  std::string path = "/";
  std::optional<int> port;  // empty: the endpoint's port
  bool https = false;
  std::vector<HttpHeader> headers;
  ProbeTlsOptions tls;

  bool operator==(const HttpGetAction&) const = default;
};

struct TcpSocketAction {
  std::optional<int> port;

  bool operator==(const TcpSocketAction&) const = default;
};

struct GrpcAction {
  int port = 0;         // required, as in a pod spec
  std::string service;  // HealthCheckRequest.service; "" asks about the server as a whole
  /// Extension: present = HTTP/2 over TLS (ALPN h2) with these options; absent = h2c.
  std::optional<ProbeTlsOptions> tls;

  bool operator==(const GrpcAction&) const = default;
};

struct ExecAction {
  std::vector<std::string> command;  // argv, run without a shell

  bool operator==(const ExecAction&) const = default;
};

enum class ProbeKind {
  Readiness,  // gates rotation
  Liveness,   // failing takes the backend out and back to startup
  Startup,    // until it passes, nothing else runs
};

/// A Kubernetes probe block; field names and defaults as in a pod spec.
struct ProbeSpec {
  enum class Handler { HttpGet, TcpSocket, Exec, Grpc };
  Handler handler = Handler::TcpSocket;
  HttpGetAction httpGet;
  TcpSocketAction tcpSocket;
  ExecAction exec;
  GrpcAction grpc;
  double initialDelaySeconds = 0;
  double periodSeconds = 10;
  double timeoutSeconds = 1;
  int successThreshold = 1;
  int failureThreshold = 3;

  bool operator==(const ProbeSpec&) const = default;
};

/// The TLS options a probe connects with (HTTPS httpGet, gRPC with `tls`), or null.
inline const ProbeTlsOptions* tlsOptionsOf(const ProbeSpec& spec) {
  if (spec.handler == ProbeSpec::Handler::HttpGet && spec.httpGet.https) return &spec.httpGet.tls;
  if (spec.handler == ProbeSpec::Handler::Grpc && spec.grpc.tls) return &*spec.grpc.tls;
  return nullptr;
}

/// `mode: http` settings of a service: limits and timeouts of the L7 proxy.
struct HttpSettings {
  int maxHeaderBytes = 32 * 1024;       // request line and headers; beyond: 431
  int maxUrlBytes = 8 * 1024;           // beyond: 414
  double maxBodyBytes = 0;              // request body; 0 = no limit; beyond: 413
  double headerTimeoutSeconds = 10;     // a request's head must arrive within (slowloris): 408
  double keepAliveTimeoutSeconds = 60;  // an idle client connection between requests is closed
  double responseTimeoutSeconds = 60;   // from the request sent to the response head: 504
  double upstreamIdleTimeoutSeconds =
      4;                             // pooled idle upstream connections; keep below the backend's
  // Idle upstream connections per backend and worker. One HTTP/2 client may have 100
  // requests in flight, each on an upstream connection of its own: fewer kept than that
  // means a connect and a close for the excess on every round (6% of requests in
  // bench/h2_path.sh at 64).
  int upstreamMaxIdle = 128;
  bool forwardedHeaders = true;      // X-Forwarded-For, -Proto, -Host
  std::vector<Cidr> trustedProxies;  // whose incoming X-Forwarded-For is kept (and appended to)
  bool via = false;                  // add `Via: 1.1 readygate`
  bool accessLog = false;            // one log line per request
  /// Routes compare the path normalized (escapes of unreserved characters decoded, dot
  /// segments removed, slashes merged), or raw as it came (HAProxy's way). The path is
  /// forwarded unchanged either way.
  bool normalizedPathMatching = true;  // http.pathMatching: normalized | raw

  bool operator==(const HttpSettings&) const = default;
};

/// `http2:` (mode http): HTTP/2 from clients, by ALPN on TLS listeners and with prior
/// knowledge (h2c) on cleartext ones; the defaults are the ones safe at an edge (Envoy's
/// edge guide, HAProxy's), not nghttp2's.
struct Http2Settings {
  bool enabled = true;
  int maxConcurrentStreams = 100;              // streams open at once per connection
  int initialStreamWindowBytes = 65536;        // what a client may send a stream unread
  int initialConnectionWindowBytes = 1 << 20;  // and the whole connection
  int maxHeaderListBytes = 0;                  // a request's header list; 0: http.maxHeaderBytes
  int maxStreamsPerConnection = 0;  // then the graceful GOAWAY; 0: no limit
  /// Misbehaviour a connection may show (invalid frames, resets either way, empty frames,
  /// PING and SETTINGS beyond a budget) before it gets GOAWAY.
  int glitchThreshold = 1000;
  double settingsTimeoutSeconds = 10;  // our SETTINGS must be acknowledged within

  bool operator==(const Http2Settings&) const = default;
};

/// Passive outlier detection (as Envoy's): a backend that fails traffic in a row is
/// taken out for a while, whatever its probes say.
struct OutlierDetection {
  int consecutive5xx = 5;              // HTTP responses 500-599 in a row (0: not counted)
  int consecutiveConnectFailures = 5;  // failed connects in a row, both modes (0: not counted)
  double baseEjectionSeconds = 30;     // the n-th ejection lasts n × this ...
  double maxEjectionSeconds = 300;     // ... but never longer than this
  int maxEjectionPercent =
      50;  // of the service's backends out at once (at least one of two or more)

  bool operator==(const OutlierDetection&) const = default;
};

/// `endpoints.dns`: a (headless Service) name resolved again and again.
struct DnsEndpoints {
  enum class Family { Any, IPv4, IPv6 };
  std::string name;
  int port = 0;
  double refreshSeconds = 5;
  Family family = Family::Any;

  bool operator==(const DnsEndpoints&) const = default;
};

/// `endpoints.kubernetes`: the EndpointSlices of a Service, listed and watched.
struct KubernetesEndpoints {
  std::string service;
  std::string namespaceName;  // "" = the pod's own namespace in cluster, else the context's
  std::string portName;       // the slice port's name ("" = the unnamed port) ...
  int portNumber = 0;         // ... or, when set, its number (the endpoints' target port)
  DnsEndpoints::Family family = DnsEndpoints::Family::Any;
  /// No event or bookmark for this long: the watch is opened again.
  double staleWatchSeconds = 180;
  /// When nothing else is in rotation, terminating pods that still serve (and pass the
  /// probes) take traffic, as kube-proxy does. Off: they never do (Traefik's 503s).
  bool terminatingFallback = true;

  bool operator==(const KubernetesEndpoints&) const = default;
};

/// Top-level `kubernetes:`: how to reach the API server out of cluster.
struct KubernetesConfig {
  std::string kubeconfig;  // "" = $KUBECONFIG, then ~/.kube/config (in cluster: not used)

  bool operator==(const KubernetesConfig&) const = default;
};

/// `routes:` entry of an http service: requests for `host` (exact, or `*.example.com`
/// for one label; empty = any) under `pathPrefix` go to `service`'s backends.
struct RouteConfig {
  std::string host;              // lowercase; "" = any host
  std::string pathPrefix = "/";  // no trailing slash except "/"
  std::string service;

  bool operator==(const RouteConfig&) const = default;
};

/// One `tls.certificates` entry: PEM files (the certificate may carry its chain after it).
struct CertificateFiles {
  std::string cert;
  std::string key;

  bool operator==(const CertificateFiles&) const = default;
};

/// `tls.clientAuth`: clients show a certificate from `ca` (mTLS).
struct ClientAuth {
  bool required = true;  // mode: required (refused at the handshake) | optional (marked)
  std::string ca;        // PEM bundle of the CAs client certificates must chain to
  std::string crl;       // PEM CRLs of those CAs; "" = none checked

  bool operator==(const ClientAuth&) const = default;
};

/// `tls:` on a service: the listener terminates TLS.
struct ListenerTls {
  std::vector<CertificateFiles> certificates;  // the first is the default (no SNI match)
  std::optional<ClientAuth> clientAuth;
  std::string clientSubjectHeader;  // mode http: the verified client's subject to backends
  bool tls13Only = false;                      // minVersion "1.3"; default "1.2"
  bool strictSni = false;                      // refuse a name no certificate has
  double handshakeTimeoutSeconds = 10;

  bool operator==(const ListenerTls&) const = default;
};

enum class ProxyProtocolVersion { V1, V2, Any };

/// `proxyProtocol:` on a listener: every connection starts with a PROXY header, taken
/// only from `from`.
struct ProxyProtocolAccept {
  ProxyProtocolVersion accept = ProxyProtocolVersion::Any;
  std::vector<Cidr> from;  // required, non-empty

  bool operator==(const ProxyProtocolAccept&) const = default;
};

/// `redirectToHttps:` on a plaintext http service: every request is sent to HTTPS.
struct HttpsRedirect {
  int port = 443;  // 443 is left out of Location
  int status = 301;

  bool operator==(const HttpsRedirect&) const = default;
};

/// `hsts:` on a TLS http service: Strict-Transport-Security on every response.
struct HstsPolicy {
  double maxAgeSeconds = 31536000;  // a year, what preload lists ask for
  bool includeSubDomains = false;
  bool preload = false;

  bool operator==(const HstsPolicy&) const = default;
};

/// `upstreamTls:` on a service: its traffic reaches the backends over TLS (probes keep
/// their own settings).
struct UpstreamTls {
  bool verify = true;      // HAProxy's default; Envoy and nginx verify nothing unless asked
  std::string ca;          // PEM bundle the backends' certificates chain to; "" = the system's
  std::string serverName;  // SNI and the name verified; "" = the request's Host (mode http)
                           // or the endpoint's address
  std::string cert;        // a client certificate for backends that ask for one (with key)
  std::string key;

  bool operator==(const UpstreamTls&) const = default;
};

/// `upstreamProtocol:` what a mode http service speaks to its backends. h2 and h2c
/// multiplex: each worker keeps one connection per backend, more once its
/// SETTINGS_MAX_CONCURRENT_STREAMS is reached.
enum class UpstreamProtocol {
  Http1,  // http/1.1 (HTTP/2 clients translated to it)
  H2,     // HTTP/2 over upstreamTls, ALPN h2
  H2c,    // HTTP/2 in cleartext, prior knowledge
};

struct ServiceConfig {
  std::string name;
  SocketAddress listen;
  bool listens = true;  // false: reached only through another service's routes
  /// reusePort: shared. By default a listen address someone else already holds is "address
  /// in use"; shared lets another process take a share of the port (SO_REUSEPORT).
  bool sharedPort = false;
  ProxyMode mode = ProxyMode::Tcp;
  BalanceKind balance = BalanceKind::RoundRobin;
  std::vector<SocketAddress> staticEndpoints;
  std::string endpointsFile;  // endpoints.file.path: a YAML/JSON list, watched; "" = none
  std::optional<DnsEndpoints> endpointsDns;
  std::optional<KubernetesEndpoints> endpointsKubernetes;
  std::optional<ProbeSpec> readinessProbe;
  std::optional<ProbeSpec> livenessProbe;
  std::optional<ProbeSpec> startupProbe;
  int minReady = 0;
  double drainTimeoutSeconds = 30;
  double slowStartSeconds = 0;  // a just-ready backend's share ramps up over this
  double connectTimeoutSeconds = 5;
  double idleTimeoutSeconds = 300;
  int retries = 3;  // other backends tried after a failed attempt, bounded
  /// Bytes one connection may hold in each direction before reading from the other side
  /// stops (resumes at half): a backend that never reads costs this much, not more.
  int bufferBytes = 64 * 1024;
  int maxConnections = 0;           // open client connections of the service; 0: no limit
  int maxConnectionsPerClient = 0;  // from one client address; 0: no limit
  HttpSettings http;
  Http2Settings http2;
  std::vector<RouteConfig> routes;  // mode http: other services' backends by Host and path
  std::optional<OutlierDetection> outlierDetection;  // off unless configured
  WhenNoneReady whenNoneReady = WhenNoneReady::Reject;
  std::optional<ListenerTls> tls;                     // TLS terminated at the listener
  std::optional<ProxyProtocolAccept> proxyProtocol;   // clients come through a balancer
  std::optional<ProxyProtocolVersion> sendProxyProtocol;  // to backends (V1 or V2)
  std::optional<HttpsRedirect> redirectToHttps;       // mode http, no tls
  std::optional<HstsPolicy> hsts;                     // mode http with tls
  std::optional<UpstreamTls> upstreamTls;             // TLS to the backends
  UpstreamProtocol upstreamProtocol = UpstreamProtocol::Http1;
  /// Streams a backend refused or never began (REFUSED_STREAM, above a GOAWAY's last
  /// stream) go to another ready backend, outside `retries`: they never reached an
  /// application. Off only to show what it saves.
  bool retryUnprocessedStreams = true;

  bool operator==(const ServiceConfig&) const = default;
};

struct AdminConfig {
  SocketAddress listen;  // default 127.0.0.1:9901
  bool readyRequiresBackends = false;
  std::string tokenFile;           // bearer token for mutating requests; "" = none
  bool tokenForReads = false;      // reads need the token too
  bool allowInsecure = false;      // a non-loopback listener without a token (warned)
  std::vector<std::string> names;  // host names the Host header may carry, besides addresses
  int maxConnections = 64;           // admin clients at once; more wait in the kernel's queue
  double requestTimeoutSeconds = 10;  // from a request's first byte to its last (408 after)
  double writeTimeoutSeconds = 10;    // for an answer to be read by the client (closed after)

  bool operator==(const AdminConfig&) const = default;
};

struct Config {
  AdminConfig admin;
  int workers = 0;                     // 0: one per core
  std::vector<std::string> resolvers;  // "ip[:port]" for DNS discovery; empty: /etc/resolv.conf
  KubernetesConfig kubernetes;
  /// On SIGTERM: /readyz fails at once, listeners keep accepting this long (so a load
  /// balancer in front sees the failing /readyz and stops sending), then close.
  double shutdownDelaySeconds = 0;
  int maxConnections = 0;  // open client connections of the whole process; 0: no limit
  /// The largest file readygate reads on the configuration's word (endpoints files, the
  /// admin token file); a larger one is refused as a bad file.
  size_t maxFileBytes = 64u << 20;
  /// Started as root: the user to become once every listener is bound. "" keeps root.
  std::string user;
  std::vector<ServiceConfig> services;

  bool operator==(const Config&) const = default;
};

/// In the order the kubelet runs them.
inline constexpr ProbeKind kAllProbeKinds[] = {ProbeKind::Startup, ProbeKind::Readiness,
                                               ProbeKind::Liveness};

/// The service's probe of that kind (empty when not configured).
inline const std::optional<ProbeSpec>& probeOf(const ServiceConfig& service, ProbeKind kind) {
  switch (kind) {
    case ProbeKind::Startup:
      return service.startupProbe;
    case ProbeKind::Liveness:
      return service.livenessProbe;
    case ProbeKind::Readiness:
      break;
  }
  return service.readinessProbe;
}

const char* toString(ProxyMode mode);
const char* toString(BalanceKind kind);
const char* toString(ProbeKind kind);

}  // namespace readygate
