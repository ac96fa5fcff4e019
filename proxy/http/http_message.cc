// MessageHead helpers.
#include "proxy/http/http_message.h"

#include <cctype>

namespace readygate {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // ASCII only, as field names and tokens are (RFC 9110 §5.1): no locale call per byte.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool hasToken(std::string_view list, std::string_view token) {
  bool found = false;
  forEachToken(list,
               [&](std::string_view item) { found = found || equalsIgnoreCase(item, token); });
  return found;
}

bool isIdempotent(std::string_view method) {
  for (std::string_view safe : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}) {
    if (method == safe) return true;
  }
  return false;
}

const std::string* MessageHead::find(std::string_view name) const {
  for (const HeaderField& field : headers) {
    if (equalsIgnoreCase(field.name, name)) return &field.value;
  }
  return nullptr;
}

}  // namespace readygate
