// The outcome of one probe attempt, as every prober reports it.
#pragma once

#include <cerrno>
#include <chrono>
#include <string>

namespace readygate {

/// `reason` is a short stable token used in logs, /status and metric labels:
///   ok               the probe passed
///   timeout          no complete answer within timeoutSeconds
///   connect_refused  nothing listens on the probe port
///   connect_error    the connect failed otherwise (unreachable, reset)
///   tls_handshake    the TLS handshake failed (e.g. HTTPS probe against plain HTTP)
///   http_<code>      an HTTP status outside 200..399, e.g. http_503
///   http_malformed   the answer was not HTTP
///   connection_closed the peer closed before a complete answer
///   exit_<n>         an exec probe exited with n != 0, e.g. exit_3
///   signal_<n>       an exec probe was killed by signal n (not by our timeout)
///   exec_not_found   the exec probe's program could not be started
///   local_resource   readygate itself ran out of something (descriptors, memory, ports,
///                    processes): says nothing of the backend, so it moves no threshold
struct ProbeResult {
  bool success = false;
  std::string reason;
  std::string message;  // first line of the body or output, for humans
  double latencySeconds = 0;
  double finishedAt = 0;                           // monotonic seconds (Clock::now)
  std::chrono::system_clock::time_point wallTime;  // for /status
  bool localFailure = false;                       // local_resource

  static ProbeResult passed(std::string message = "") {
    return ProbeResult{true, "ok", std::move(message), 0, 0, {}, false};
  }
  static ProbeResult failed(std::string reason, std::string message = "") {
    return ProbeResult{false, std::move(reason), std::move(message), 0, 0, {}, false};
  }
  static ProbeResult localResource(std::string message) {
    return ProbeResult{false, "local_resource", std::move(message), 0, 0, {}, true};
  }
};

/// Whether a failed socket(), connect(), pipe() or spawn says readygate is out of
/// something (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN) rather than that
/// the backend is unwell.
inline bool isLocalResourceError(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM ||
         error == EADDRNOTAVAIL || error == EAGAIN;
}

}  // namespace readygate
