// Where the Kubernetes API server is and how to prove who we are: from a kubeconfig, or from
// a pod's service account; parsing only (the files named are read by the client).
#pragma once

#include <string>
#include <variant>

namespace readygate {

/// What the API client needs. Files are named, not read: the token file is read again
/// every minute and after a 401 (bound service-account tokens rotate), and every file
/// goes through core's file reader (regular files, size cap).
struct KubeApiTarget {
  std::string host;  // a name or an IP address (IPv6 without brackets)
  int port = 443;
  std::string serverName;  // the name the certificate is checked for ("" = host)
  std::string caPem;       // the CAs to trust, as data ...
  std::string caFile;      // ... or as a file; both empty: the system's
  std::string token;       // a bearer token, or ...
  std::string tokenFile;   // ... a file holding one
  std::string clientCertPem, clientCertFile;  // a client certificate (data or file) ...
  std::string clientKeyPem, clientKeyFile;    // ... and its key
  std::string namespaceName;  // the context's (kubectl's "default" when it names none)
  std::string origin;         // "in-cluster", or "kubeconfig FILE (context C)": for messages

  bool operator==(const KubeApiTarget&) const = default;
};

/// A kubeconfig's current context. Relative file names are taken from `directory` (the
/// kubeconfig's own, as kubectl does). Refused, with why: no current context, a server
/// that is not https://, insecure-skip-tls-verify (TLS to the API server is always
/// verified), a proxy-url, and exec or auth-provider credential plugins (out of scope:
/// use a token, a token file or a client certificate).
std::variant<KubeApiTarget, std::string> parseKubeconfig(const std::string& text,
                                                         const std::string& directory,
                                                         const std::string& path);

/// Inside a pod: KUBERNETES_SERVICE_HOST and _PORT (given here), and the service
/// account's token, CA and namespace files under `accountDirectory`
/// (/var/run/secrets/kubernetes.io/serviceaccount); `namespaceText` is the namespace
/// file's content. The certificate is checked for the service host, an IP address, as
/// client-go checks it (the kubernetes Service's IP is an IP SAN of every API server
/// certificate).
std::variant<KubeApiTarget, std::string> inClusterTarget(const std::string& serviceHost,
                                                         const std::string& servicePort,
                                                         const std::string& accountDirectory,
                                                         const std::string& namespaceText);

}  // namespace readygate
