// Request head checks and normalisation.
#include "proxy/http/request_checks.h"

#include <algorithm>
#include <cctype>

namespace readygate {
namespace {

bool isRegNameChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  // unreserved, sub-delims and '%' of pct-encoded (RFC 3986 §3.2.2).
  return std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
}

/// "websocket" of "websocket/13": protocols are compared by name.
std::string_view protocolName(std::string_view token) { return token.substr(0, token.find('/')); }

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

}  // namespace

bool isValidHost(std::string_view value) {
  if (value.empty()) return true;
  std::string_view host = value;
  std::string_view port;
  if (value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : value.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    host = {};
  } else if (size_t colon = value.find(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!std::all_of(host.begin(), host.end(), isRegNameChar)) return false;
  if (value.front() != '[' && host.empty()) return false;
  if (port.size() > 5) return false;
  return std::all_of(port.begin(), port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

std::optional<std::string> prepareRequest(MessageHead& request) {
  HeaderField* host = nullptr;
  for (HeaderField& field : request.headers) {
    if (!equalsIgnoreCase(field.name, "Host")) continue;
    if (host != nullptr) return "duplicate_host";
    host = &field;
  }
  std::string_view target = request.target;
  if (!target.empty() && target.front() != '/' && target != "*" && request.method != "CONNECT") {
    // Absolute form: the authority is the host; the backend gets origin form.
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return "invalid_target";
    std::string_view name = target.substr(0, scheme);
    if (!equalsIgnoreCase(name, "http") && !equalsIgnoreCase(name, "https")) {
      return "invalid_target";
    }
    std::string_view rest = target.substr(scheme + 3);
    size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    if (authority.find('@') != std::string_view::npos || authority.empty() ||
        !isValidHost(authority)) {
      return "invalid_host";
    }
    std::string path(end == std::string_view::npos ? std::string_view() : rest.substr(end));
    if (path.empty() || path.front() != '/') path.insert(0, "/");
    if (host != nullptr) {
      host->value.assign(authority);
    } else {
      request.headers.push_back(HeaderField{"Host", std::string(authority)});
      host = &request.headers.back();
    }
    request.target = std::move(path);
  }
  if (host == nullptr) {
    if (!request.http10()) return "missing_host";
  } else if (!isValidHost(host->value)) {
    return "invalid_host";
  }
  // The fields Connection names are this hop's (RFC 9110 §7.6.1); Host stays whatever it
  // names, and Upgrade stays on a request that upgrades.
  // Compared in place against the Connection values, no token copied: first the fields
  // to drop lose their names (the check reads only Connection fields, which stay), then
  // the nameless go (http-parser accepts no empty field name, so none was nameless).
  bool anyConnection = std::any_of(
      request.headers.begin(), request.headers.end(),
      [](const HeaderField& field) { return equalsIgnoreCase(field.name, "Connection"); });
  if (anyConnection) {
    bool dropped = false;
    for (HeaderField& field : request.headers) {
      if (equalsIgnoreCase(field.name, "Host") || equalsIgnoreCase(field.name, "Connection")) {
        continue;
      }
      if (request.upgrade && equalsIgnoreCase(field.name, "Upgrade")) continue;
      for (const HeaderField& connection : request.headers) {
        if (equalsIgnoreCase(connection.name, "Connection") &&
            hasToken(connection.value, field.name)) {
          field.name.clear();
          dropped = true;
          break;
        }
      }
    }
    if (dropped) {
      std::erase_if(request.headers, [](const HeaderField& field) { return field.name.empty(); });
    }
  }
  return std::nullopt;
}

bool upgradeAccepted(const MessageHead& request, const MessageHead& response) {
  if (!request.upgrade) return false;
  const std::string* offered = request.find("Upgrade");
  const std::string* chosen = response.find("Upgrade");
  if (offered == nullptr || chosen == nullptr) return false;
  bool accepted = false;
  forEachToken(*chosen, [&](std::string_view answer) {
    forEachToken(*offered, [&](std::string_view offer) {
      if (equalsIgnoreCase(protocolName(answer), protocolName(offer))) accepted = true;
    });
  });
  return accepted;
}

bool offersH2c(const MessageHead& request) {
  bool h2c = false;
  for (const HeaderField& field : request.headers) {
    if (!equalsIgnoreCase(field.name, "Upgrade")) continue;
    forEachToken(field.value, [&](std::string_view token) {
      if (equalsIgnoreCase(protocolName(token), "h2c") || startsWithIgnoreCase(token, "h2c")) {
        h2c = true;
      }
    });
  }
  return h2c;
}

}  // namespace readygate
