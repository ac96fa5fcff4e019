// A blocking TLS client for tests: one handshake (with SNI, ALPN), one request, what came back.
#pragma once

#include <chrono>
#include <string>

namespace testing_support {

struct TlsAnswer {
  bool handshook = false;
  std::string error;        // why the handshake failed
  std::string subject;      // the server certificate's CN
  std::string version;      // "TLSv1.3"
  std::string alpn;         // what the server chose ("" none)
  std::string response;     // everything read after `request` was sent, until EOF or timeout
};

/// Connects to 127.0.0.1:`port`, handshakes (no verification: the certificates are made
/// by the test) with `serverName` as SNI ("" sends none) and `alpn` offered ("" none),
/// sends `request` (unless empty) and reads until the server closes or `timeout`.
TlsAnswer tlsExchange(int port, const std::string& serverName, const std::string& request = "",
                      const std::string& alpn = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(3));

/// The same on a connection the caller already opened (it stays the caller's).
TlsAnswer tlsExchangeOn(int fd, const std::string& serverName, const std::string& request = "",
                        const std::string& alpn = "",
                        std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace testing_support
