// Every metric readygate exports: name, type and help, in one table (the README lists it too).
#pragma once

#include <prometheus/metric_type.h>

namespace readygate::metrics {

struct MetricInfo {
  const char* name;
  prometheus::MetricType type;
  const char* help;
};

using prometheus::MetricType;

// Backend state (labels: service, backend).
inline constexpr MetricInfo kBackendReady{
    "readygate_backend_ready", MetricType::Gauge,
    "1 if the backend passes its readiness probe (after thresholds), else 0."};
inline constexpr MetricInfo kBackendState{
    "readygate_backend_state", MetricType::Gauge,
    "One-hot effective state (label state): starting, ready, not_ready, draining, disabled, "
    "leaving, removed, ejected."};
inline constexpr MetricInfo kBackendInRotation{
    "readygate_backend_in_rotation", MetricType::Gauge,
    "1 if new connections may be sent to the backend (ready, leaving held by minReady, or "
    "failing open), else 0."};
inline constexpr MetricInfo kBackendFailingOpen{
    "readygate_backend_failing_open", MetricType::Gauge,
    "1 if the backend is in rotation only because nothing is ready and whenNoneReady: all."};
inline constexpr MetricInfo kBackendTransitions{"readygate_backend_transitions_total",
                                                MetricType::Counter,
                                                "Changes of effective state, by from and to."};
inline constexpr MetricInfo kBackendLastTransition{
    "readygate_backend_last_transition_timestamp_seconds", MetricType::Gauge,
    "Unix time of the backend's last change of effective state (or of its appearance)."};
inline constexpr MetricInfo kBackendRestarts{
    "readygate_backend_restarts_total", MetricType::Counter,
    "Times a liveness or startup failure sent the backend back to its startup phase."};
inline constexpr MetricInfo kBackendEjections{
    "readygate_backend_ejections_total", MetricType::Counter,
    "Times passive outlier detection ejected the backend (consecutive 5xx or connect failures)."};
inline constexpr MetricInfo kConsecutiveFailures{
    "readygate_backend_consecutive_failures", MetricType::Gauge,
    "Failures in a row of one probe (label probe): how close to flipping."};
inline constexpr MetricInfo kConsecutiveSuccesses{
    "readygate_backend_consecutive_successes", MetricType::Gauge,
    "Successes in a row of one probe (label probe): how close to flipping."};

// Probes (labels: service, backend, probe).
inline constexpr MetricInfo kProbeTotal{
    "readygate_probe_total", MetricType::Counter,
    "Probe results by result (success, failure) and reason token (ok, http_503, timeout, ...)."};
inline constexpr MetricInfo kProbeDuration{"readygate_probe_duration_seconds",
                                           MetricType::Histogram,
                                           "Time from a probe's start to its result."};
inline constexpr MetricInfo kProbeTimeout{
    "readygate_probe_timeout_seconds", MetricType::Gauge,
    "Configured timeoutSeconds of each probe (labels service, probe), for latency alerts."};

// Services (label: service).
inline constexpr MetricInfo kServiceBackends{
    "readygate_service_backends", MetricType::Gauge,
    "Backends in the service's configuration (not counting old ones kept by minReady)."};
inline constexpr MetricInfo kServiceReadyBackends{
    "readygate_service_ready_backends", MetricType::Gauge,
    "Configured, enabled backends that pass their probes (what minReady counts)."};
inline constexpr MetricInfo kServiceMinReady{"readygate_service_min_ready", MetricType::Gauge,
                                             "Configured minReady of the service."};
inline constexpr MetricInfo kServiceLeavingBackends{
    "readygate_service_leaving_backends", MetricType::Gauge,
    "Backends removed from the configuration that still serve until minReady new ones are ready."};

// Discovery (labels: service, source).
inline constexpr MetricInfo kDiscoveryEndpoints{
    "readygate_discovery_endpoints", MetricType::Gauge,
    "Endpoints in the last good set of each source (static, file)."};
inline constexpr MetricInfo kDiscoveryLastUpdate{
    "readygate_discovery_last_update_timestamp_seconds", MetricType::Gauge,
    "Unix time the source's set was last read successfully (file)."};
inline constexpr MetricInfo kDiscoveryErrors{
    "readygate_discovery_errors_total", MetricType::Counter,
    "Failed reads of a source (unreadable or unparsable file, failed lookup, API error); the "
    "last good set stayed."};

// The Kubernetes source (labels: service, source="kubernetes").
inline constexpr MetricInfo kKubernetesWatchEvents{
    "readygate_kubernetes_watch_events_total", MetricType::Counter,
    "Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)."};
inline constexpr MetricInfo kKubernetesRelists{
    "readygate_kubernetes_relists_total", MetricType::Counter,
    "Lists of the Service's EndpointSlices, by cause (initial, gone_status, gone_event, "
    "continue_expired)."};
inline constexpr MetricInfo kKubernetesApiErrors{
    "readygate_kubernetes_api_errors_total", MetricType::Counter,
    "Failed API requests and ERROR events, by code (the HTTP status; 0: no answer)."};
inline constexpr MetricInfo kKubernetesSinceLastEvent{
    "readygate_kubernetes_seconds_since_last_event", MetricType::Gauge,
    "Seconds since the last watch event or bookmark (or the end of the last list)."};
inline constexpr MetricInfo kKubernetesSynced{
    "readygate_kubernetes_synced", MetricType::Gauge,
    "1 once a whole list of the Service's EndpointSlices has been seen."};
inline constexpr MetricInfo kKubernetesEventToRotation{
    "readygate_kubernetes_event_to_rotation_seconds", MetricType::Histogram,
    "From the arrival of the API bytes that changed the endpoints to the rotation change they "
    "caused."};
inline constexpr MetricInfo kServiceTerminatingFallback{
    "readygate_service_terminating_fallback_backends", MetricType::Gauge,
    "Terminating backends in rotation because nothing else is (kube-proxy's fallback)."};
inline constexpr MetricInfo kServiceTerminatingFallbacks{
    "readygate_service_terminating_fallbacks_total", MetricType::Counter,
    "Times the service fell back to terminating backends."};

// Traffic.
inline constexpr MetricInfo kConnectionsActive{"readygate_connections_active", MetricType::Gauge,
                                               "Client connections open now (label service)."};
inline constexpr MetricInfo kConnectionsTotal{"readygate_connections_total", MetricType::Counter,
                                              "Client connections accepted (label service)."};
inline constexpr MetricInfo kBackendConnectionsActive{
    "readygate_backend_connections_active", MetricType::Gauge,
    "Connections open to the backend now (labels service, backend)."};
inline constexpr MetricInfo kBackendConnectionsTotal{
    "readygate_backend_connections_total", MetricType::Counter,
    "Connections sent to the backend (labels service, backend)."};
inline constexpr MetricInfo kConnectFailures{
    "readygate_upstream_connect_failures_total", MetricType::Counter,
    "Failed connects to the backend: refused, timed out, unreachable."};
inline constexpr MetricInfo kRetries{
    "readygate_retries_total", MetricType::Counter,
    "Connects tried again on another backend after a failed one (label service)."};
inline constexpr MetricInfo kBytes{
    "readygate_bytes_total", MetricType::Counter,
    "Bytes proxied (labels service, direction: client_to_backend, backend_to_client)."};
inline constexpr MetricInfo kNoReadyBackend{
    "readygate_no_ready_backend_total", MetricType::Counter,
    "Client connections closed because no backend was eligible."};
inline constexpr MetricInfo kConnectionsRefused{
    "readygate_connections_refused_total", MetricType::Counter,
    "Client connections turned away at accept by a limit (label reason: process_limit, "
    "service_limit, client_limit); HTTP listeners answer them 503."};
inline constexpr MetricInfo kFailOpen{
    "readygate_fail_open_total", MetricType::Counter,
    "Client connections sent to a not-ready backend under whenNoneReady: all."};
inline constexpr MetricInfo kConnectionDuration{"readygate_connection_duration_seconds",
                                                MetricType::Histogram,
                                                "Lifetime of client connections (label service)."};

// HTTP mode.
inline constexpr MetricInfo kHttpRequests{
    "readygate_http_requests_total", MetricType::Counter,
    "HTTP responses sent to clients, by service, backend (none: readygate's own answer) and "
    "code_class (1xx-5xx)."};
inline constexpr MetricInfo kHttpRequestDuration{
    "readygate_http_request_duration_seconds", MetricType::Histogram,
    "From a request's head read to its response's end (label service)."};
inline constexpr MetricInfo kUpstreamRequests{
    "readygate_upstream_requests_total", MetricType::Counter,
    "HTTP requests sent upstream by connection: reused (from the keep-alive pool) or new."};
inline constexpr MetricInfo kUpstreamConnectDuration{
    "readygate_upstream_connect_duration_seconds", MetricType::Histogram,
    "Time to connect to a backend (new connections, both modes; label service)."};
inline constexpr MetricInfo kUpstreamFirstByte{
    "readygate_upstream_first_byte_seconds", MetricType::Histogram,
    "HTTP: from a request sent upstream to its response head (label service)."};
inline constexpr MetricInfo kHttpRetries{
    "readygate_http_retries_total", MetricType::Counter,
    "HTTP requests sent again to another backend after their connection failed before any "
    "response byte (label service)."};

// HTTP/2 from clients (label service).
inline constexpr MetricInfo kHttp2Connections{
    "readygate_http2_connections_total", MetricType::Counter,
    "Client connections that spoke HTTP/2 (h2 by ALPN, or h2c with prior knowledge)."};
inline constexpr MetricInfo kHttp2Streams{
    "readygate_http2_streams_total", MetricType::Counter,
    "HTTP/2 streams whose request reached the exchange (each an HTTP request)."};
inline constexpr MetricInfo kHttp2ActiveStreams{
    "readygate_http2_active_streams", MetricType::Gauge, "HTTP/2 streams open now."};
inline constexpr MetricInfo kHttp2Goaways{
    "readygate_http2_goaways_total", MetricType::Counter,
    "GOAWAY frames by direction (sent: shutdown notices, final GOAWAYs and connection errors; "
    "received)."};
inline constexpr MetricInfo kHttp2Resets{
    "readygate_http2_resets_total", MetricType::Counter,
    "RST_STREAM frames by direction (sent, received) and code (RFC 9113 error names)."};
inline constexpr MetricInfo kHttp2FramesRefused{
    "readygate_http2_frames_refused_total", MetricType::Counter,
    "Invalid frames and malformed requests (stream or connection errors readygate answered)."};
inline constexpr MetricInfo kHttp2Glitches{
    "readygate_http2_glitches_total", MetricType::Counter,
    "Client misbehaviour counted towards http2.glitchThreshold: invalid frames, resets either "
    "way, empty DATA, PING/SETTINGS/PRIORITY past their budget, refused requests."};

// TLS listeners and the PROXY protocol (label service).
inline constexpr MetricInfo kTlsHandshakes{
    "readygate_tls_handshakes_total", MetricType::Counter,
    "TLS handshakes on the service's listener by result (ok, timeout, no_shared_cipher, "
    "unknown_sni, protocol_version, client_certificate, other) and version (TLSv1.2, TLSv1.3; unknown for a failure)."};
inline constexpr MetricInfo kTlsResumedHandshakes{
    "readygate_tls_resumed_handshakes_total", MetricType::Counter,
    "Of the successful TLS handshakes on the service's listener, those that resumed a session "
    "(a ticket): the rest cost a full handshake."};
inline constexpr MetricInfo kTlsHandshakeDuration{
    "readygate_tls_handshake_duration_seconds", MetricType::Histogram,
    "From accept to the end of the TLS handshake (with the PROXY header before it), any result."};
inline constexpr MetricInfo kTlsCertificateExpiry{
    "readygate_tls_certificate_expiry_timestamp_seconds", MetricType::Gauge,
    "Unix time the certificate served now stops being valid (label name: its first DNS name)."};
inline constexpr MetricInfo kTlsCertificateReloads{
    "readygate_tls_certificate_reloads_total", MetricType::Counter,
    "Certificate swaps after their files changed, by result: success (served from the next "
    "handshake), failure (a bad file or a pair that does not match; the old ones stay)."};
inline constexpr MetricInfo kUpstreamTlsHandshakes{
    "readygate_upstream_tls_handshakes_total", MetricType::Counter,
    "TLS handshakes with the service's backends (upstreamTls) by result: full, resumed, "
    "verify_failed (the backend's certificate did not verify: answered 502), failed."};
// HTTP/2 to backends and gRPC.
inline constexpr MetricInfo kUpstreamH2Connections{
    "readygate_upstream_http2_connections_total", MetricType::Counter,
    "Multiplexed HTTP/2 connections opened to the service's backends (upstreamProtocol h2, "
    "h2c; label service)."};
inline constexpr MetricInfo kUpstreamH2StreamsPerConnection{
    "readygate_upstream_http2_streams_per_connection", MetricType::Histogram,
    "Streams an HTTP/2 backend connection carried, observed as it closes (label service)."};
inline constexpr MetricInfo kUpstreamUnprocessedRetries{
    "readygate_upstream_http2_unprocessed_retries_total", MetricType::Counter,
    "Requests whose stream a backend refused or never began (REFUSED_STREAM, above its "
    "GOAWAY's last stream) sent to another backend, outside retries (label service)."};
inline constexpr MetricInfo kBackendH2Connections{
    "readygate_backend_http2_connections", MetricType::Gauge,
    "HTTP/2 connections open to the backend now, all workers (labels service, backend)."};
inline constexpr MetricInfo kBackendH2Goaways{
    "readygate_backend_http2_goaways_received_total", MetricType::Counter,
    "GOAWAY frames the backend sent on its HTTP/2 connections (labels service, backend)."};
inline constexpr MetricInfo kGrpcResponses{
    "readygate_grpc_responses_total", MetricType::Counter,
    "gRPC responses by grpc-status name (OK, NOT_FOUND, ...; other for a code outside "
    "0-16): the backends', and readygate's own answers to gRPC clients; each once seen "
    "(labels service, grpc_status)."};

inline constexpr MetricInfo kProxyProtocolRefused{
    "readygate_proxy_protocol_refused_total", MetricType::Counter,
    "Connections closed for their PROXY header: missing, malformed, too slow, or from a "
    "source outside proxyProtocol.from."};

// Process.
inline constexpr MetricInfo kConfigReloads{
    "readygate_config_reloads_total", MetricType::Counter,
    "Configuration reloads (SIGHUP, POST /reload) by result: success, failure."};
inline constexpr MetricInfo kConfigLastReloadSuccess{
    "readygate_config_last_reload_success_timestamp_seconds", MetricType::Gauge,
    "Unix time of the last successful reload (of the start, before any)."};
inline constexpr MetricInfo kLogLinesDropped{
    "readygate_log_lines_dropped_total", MetricType::Counter,
    "Log lines dropped because the log queue was full (stderr not read fast enough)."};
inline constexpr MetricInfo kLogLinesSuppressed{
    "readygate_log_lines_suppressed_total", MetricType::Counter,
    "Log lines left out by the per-event rate limit (summed up in log_suppressed lines)."};
inline constexpr MetricInfo kAcceptErrors{
    "readygate_accept_errors_total", MetricType::Counter,
    "Failed accept() calls by reason: process_fd_limit, system_fd_limit, kernel_memory, other "
    "(listeners pause and retry)."};
inline constexpr MetricInfo kExecOrphansReaped{
    "readygate_exec_orphans_reaped_total", MetricType::Counter,
    "Processes left behind by exec probes that readygate adopted (as subreaper) and reaped."};
inline constexpr MetricInfo kBuildInfo{"readygate_build_info", MetricType::Gauge,
                                       "Always 1; label version."};
inline constexpr MetricInfo kShuttingDown{
    "readygate_shutting_down", MetricType::Gauge,
    "1 once SIGTERM/SIGINT was received and connections are draining."};
inline constexpr MetricInfo kCpuSeconds{"process_cpu_seconds_total", MetricType::Counter,
                                        "User and system CPU time of the process."};
inline constexpr MetricInfo kResidentMemory{"process_resident_memory_bytes", MetricType::Gauge,
                                            "Resident memory size."};
inline constexpr MetricInfo kVirtualMemory{"process_virtual_memory_bytes", MetricType::Gauge,
                                           "Virtual memory size."};
inline constexpr MetricInfo kOpenFds{"process_open_fds", MetricType::Gauge,
                                     "Open file descriptors."};
inline constexpr MetricInfo kMaxFds{"process_max_fds", MetricType::Gauge,
                                    "Limit on open file descriptors."};
inline constexpr MetricInfo kStartTime{"process_start_time_seconds", MetricType::Gauge,
                                       "Unix time the process started."};

}  // namespace readygate::metrics
