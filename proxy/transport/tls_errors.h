// OpenSSL's error queue, read into text: every TLS user reports errors the same way.
#pragma once

#include <openssl/err.h>

#include <string>

namespace readygate {

/// The oldest error on this thread's OpenSSL queue as text (or `fallback`); the queue is
/// cleared, so the next operation starts clean.
inline std::string takeOpensslError(const char* fallback = "unknown OpenSSL error") {
  unsigned long code = ERR_get_error();
  char text[256];
  if (code == 0) {
    ERR_clear_error();
    return fallback;
  }
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

}  // namespace readygate
