// tlsExchange implementation: OpenSSL on a blocking socket with timeouts.
#include "tests/support/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <memory>

#include "tests/support/net_helpers.h"

namespace testing_support {

TlsAnswer tlsExchange(int port, const std::string& serverName, const std::string& request,
                      const std::string& alpn, std::chrono::milliseconds timeout) {
  auto client = TcpClient::connect("127.0.0.1", port);
  if (!client) {
    TlsAnswer answer;
    answer.error = "connect failed";
    return answer;
  }
  return tlsExchangeOn(client->fd(), serverName, request, alpn, timeout);
}

TlsAnswer tlsExchangeOn(int fd, const std::string& serverName, const std::string& request,
                        const std::string& alpn, std::chrono::milliseconds timeout) {
  TlsAnswer answer;
  timeval limit{static_cast<time_t>(timeout.count() / 1000),
                static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                            SSL_CTX_free);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  if (!serverName.empty()) SSL_set_tlsext_host_name(ssl.get(), serverName.c_str());
  if (!alpn.empty()) {
    std::string wire = static_cast<char>(alpn.size()) + alpn;
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  ERR_clear_error();
  if (SSL_connect(ssl.get()) != 1) {
    char text[256] = "handshake failed";
    if (unsigned long code = ERR_get_error()) ERR_error_string_n(code, text, sizeof text);
    answer.error = text;
    return answer;
  }
  answer.handshook = true;
  answer.version = SSL_get_version(ssl.get());
  const unsigned char* chosen = nullptr;
  unsigned chosenLength = 0;
  SSL_get0_alpn_selected(ssl.get(), &chosen, &chosenLength);
  if (chosen) answer.alpn.assign(reinterpret_cast<const char*>(chosen), chosenLength);
  if (X509* certificate = SSL_get1_peer_certificate(ssl.get())) {
    char name[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name,
                              sizeof name);
    answer.subject = name;
    X509_free(certificate);
  }
  if (!request.empty()) {
    SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
    char buffer[16384];
    int got;
    while ((got = SSL_read(ssl.get(), buffer, sizeof buffer)) > 0) {
      answer.response.append(buffer, static_cast<size_t>(got));
    }
  }
  SSL_shutdown(ssl.get());
  return answer;
}

}  // namespace testing_support
