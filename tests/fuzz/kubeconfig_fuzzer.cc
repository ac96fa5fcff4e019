// Fuzz target: any text as a kubeconfig (a file readygate reads on the user's word).
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/discovery/kube_api_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = readygate::parseKubeconfig(text, "/k", "/k/config");
  if (auto* error = std::get_if<std::string>(&parsed); error && error->empty()) __builtin_trap();
  if (auto* target = std::get_if<readygate::KubeApiTarget>(&parsed)) {
    if (target->host.empty() || target->port < 1 || target->port > 65535) __builtin_trap();
  }
  return 0;
}
