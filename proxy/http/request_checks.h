// What a request head must satisfy before it is routed and forwarded: Host, the target's
// form, the fields its Connection header names; and whether a 101 answers it. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/http_message.h"

namespace readygate {

/// Checks `request` and puts it in the form readygate forwards (RFC 9112 §3.2, RFC 9110
/// §7.2 and §7.6.1). Returns the reason token of a 400, or nullopt when it may go on:
/// - `duplicate_host`: more than one Host field;
/// - `missing_host`: an HTTP/1.1 request without Host (HTTP/1.0 may omit it);
/// - `invalid_host`: a Host (or an absolute-form authority) that is not host[:port];
/// - `invalid_target`: an absolute-form target whose scheme is not http or https.
/// An absolute-form target ("http://api.example.com/x") becomes origin form ("/x"), and
/// Host is set to its authority, whatever the client's Host said. The fields the
/// Connection header names are removed, except Host (the request needs it) and Upgrade
/// on an upgrade request.
std::optional<std::string> prepareRequest(MessageHead& request);

/// Whether `value` is a valid Host: a reg-name, IPv4 address or [IP-literal], with an
/// optional :port of digits. Empty is valid (RFC 9112 §3.2: a target without authority).
bool isValidHost(std::string_view value);

/// Whether a 101 `response` is a valid answer to `request`: the request asked to upgrade
/// and the response's Upgrade names one of the protocols the request offered
/// (RFC 9110 §7.8, §15.2.2). Anything else is a bad response.
bool upgradeAccepted(const MessageHead& request, const MessageHead& response);

/// Whether a request's Upgrade header offers h2c: such a request is served as HTTP/1.1
/// with Upgrade and HTTP2-Settings removed, so nobody switches a backend connection to
/// HTTP/2 past routing and the framing checks.
bool offersH2c(const MessageHead& request);

}  // namespace readygate
