// Heads and framing the proxy writes.
#include "proxy/http/message_writer.h"

#include <charconv>

#include "proxy/core/http_status.h"

namespace readygate {
namespace {

/// Whether a Connection field of `head` names anything besides the usual keep-alive,
/// close and upgrade: only then must every field be checked against it.
bool connectionNamesFields(const MessageHead& head) {
  bool names = false;
  for (const HeaderField& field : head.headers) {
    if (!equalsIgnoreCase(field.name, "Connection")) continue;
    forEachToken(field.value, [&](std::string_view token) {
      if (!equalsIgnoreCase(token, "keep-alive") && !equalsIgnoreCase(token, "close") &&
          !equalsIgnoreCase(token, "upgrade")) {
        names = true;
      }
    });
  }
  return names;
}

bool isHopByHop(const MessageHead& head, std::string_view name, bool keepUpgrade,
                bool checkConnection) {
  for (std::string_view hop : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                               "Transfer-Encoding", "Content-Length", "HTTP2-Settings"}) {
    if (equalsIgnoreCase(name, hop)) return true;
  }
  if (equalsIgnoreCase(name, "Upgrade")) return !keepUpgrade;
  if (equalsIgnoreCase(name, "Host") || !checkConnection) return false;
  // Headers the Connection header names are for this hop only (Host whatever it says).
  for (const HeaderField& field : head.headers) {
    if (equalsIgnoreCase(field.name, "Connection") && hasToken(field.value, name)) return true;
  }
  return false;
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void appendFraming(std::string& out, const MessageHead& head, BodyFraming framing) {
  if (framing == BodyFraming::ContentLength && head.contentLength) {
    appendHeader(out, "Content-Length", std::to_string(*head.contentLength));
  } else if (framing == BodyFraming::Chunked) {
    appendHeader(out, "Transfer-Encoding", "chunked");
  }
}

}  // namespace

BodyFraming framingFor(const MessageHead& head, bool hasBody, bool toHttp10) {
  if (!hasBody) return BodyFraming::None;
  if (head.contentLength && !head.chunked) return BodyFraming::ContentLength;
  return toHttp10 ? BodyFraming::UntilClose : BodyFraming::Chunked;
}

std::string requestHeadForUpstream(const MessageHead& request, BodyFraming framing,
                                   const ForwardingInfo& info) {
  std::string out;
  appendRequestHeadForUpstream(out, request, framing, info);
  return out;
}

namespace {

/// What the client's fields left for the added ones to know.
struct ClientFieldsSeen {
  const std::string* forwardedFor = nullptr;  // a trusted proxy's X-Forwarded-For
  bool hasRequestId = false;
};

/// The client's fields that go on, in order, to `emit(name, value)`: all but the
/// hop-by-hop ones and those readygate states itself.
template <typename Emit>
ClientFieldsSeen forEachClientField(const MessageHead& request, const ForwardingInfo& info,
                                    Emit emit) {
  bool checkConnection = connectionNamesFields(request);
  ClientFieldsSeen seen;
  for (const HeaderField& field : request.headers) {
    if (isHopByHop(request, field.name, request.upgrade, checkConnection)) continue;
    if (info.forwardedHeaders && equalsIgnoreCase(field.name, "X-Forwarded-For")) {
      // Appended to below, from a trusted proxy only: anyone else could claim any address.
      if (info.trustIncomingForwardedFor) seen.forwardedFor = &field.value;
      continue;
    }
    if (info.forwardedHeaders && (equalsIgnoreCase(field.name, "X-Forwarded-Proto") ||
                                  equalsIgnoreCase(field.name, "X-Forwarded-Host"))) {
      continue;  // what this proxy saw replaces what the client claims
    }
    if (!info.clientSubjectHeader.empty() && equalsIgnoreCase(field.name, info.clientSubjectHeader)) {
      continue;  // only readygate may say who the client's certificate names
    }
    if (equalsIgnoreCase(field.name, "X-Request-Id")) seen.hasRequestId = true;
    emit(std::string_view(field.name), std::string_view(field.value));
  }
  return seen;
}

/// The fields readygate adds (X-Forwarded-*, X-Request-Id, the client subject, Via).
template <typename Emit>
void forEachAddedField(const MessageHead& request, const ForwardingInfo& info,
                       const ClientFieldsSeen& seen, Emit emit) {
  if (info.forwardedHeaders) {
    if (seen.forwardedFor != nullptr) {
      thread_local std::string chain;
      chain.assign(*seen.forwardedFor).append(", ").append(info.clientAddress);
      emit(std::string_view("X-Forwarded-For"), std::string_view(chain));
    } else {
      emit(std::string_view("X-Forwarded-For"), info.clientAddress);
    }
    emit(std::string_view("X-Forwarded-Proto"), std::string_view(info.secure ? "https" : "http"));
    if (const std::string* host = request.find("Host")) {
      emit(std::string_view("X-Forwarded-Host"), std::string_view(*host));
    }
  }
  if (!seen.hasRequestId && !info.requestId.empty()) {
    emit(std::string_view("X-Request-Id"), info.requestId);
  }
  if (!info.clientSubject.empty()) emit(info.clientSubjectHeader, info.clientSubject);
  if (info.via) {
    emit(std::string_view("Via"), std::string_view(request.http10() ? "1.0 readygate" : "1.1 readygate"));
  }
}

/// An HTTP/2 field name: lowercase (RFC 9113 §8.2.1), into a reused string.
void assignLowercase(std::string& out, std::string_view name) {
  out.assign(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

}  // namespace

void appendRequestHeadForUpstream(std::string& out, const MessageHead& request,
                                  BodyFraming framing, const ForwardingInfo& info) {
  out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  if (!info.hostIfMissing.empty() && request.find("Host") == nullptr) {
    appendHeader(out, "Host", info.hostIfMissing);
  }
  auto append = [&out](std::string_view name, std::string_view value) { appendHeader(out, name, value); };
  ClientFieldsSeen seen = forEachClientField(request, info, append);
  if (request.upgrade) appendHeader(out, "Connection", "upgrade");
  appendFraming(out, request, framing);
  forEachAddedField(request, info, seen, append);
  out.append("\r\n");
}

void requestFieldsForH2Upstream(std::vector<HeaderField>& out, const MessageHead& request,
                                const ForwardingInfo& info, bool tls) {
  size_t used = 0;
  auto emit = [&](std::string_view name, std::string_view value) {
    if (used == out.size()) out.emplace_back();
    HeaderField& field = out[used++];
    assignLowercase(field.name, name);
    field.value.assign(value);
  };
  // An absolute-form target's authority is in Host already: :path is its path.
  std::string_view path = request.target;
  if (!path.starts_with("/") && path != "*") {
    size_t scheme = path.find("://");
    size_t slash = scheme == std::string_view::npos ? std::string_view::npos : path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  const std::string* host = request.find("Host");
  std::string_view authority = host != nullptr ? std::string_view(*host) : info.hostIfMissing;
  emit(":method", request.method);
  emit(":scheme", tls ? "https" : "http");
  if (!authority.empty()) emit(":authority", authority);
  emit(":path", path);
  ClientFieldsSeen seen = forEachClientField(request, info, [&](std::string_view name, std::string_view value) {
    if (equalsIgnoreCase(name, "Host")) return;  // it is :authority
    emit(name, value);
  });
  // gRPC needs to know the client takes trailers; no other TE may cross (RFC 9113 §8.2.2).
  if (const std::string* te = request.find("TE"); te != nullptr && hasToken(*te, "trailers")) {
    emit("te", "trailers");
  }
  if (request.contentLength && !request.chunked) {
    char digits[24];
    char* end = std::to_chars(digits, digits + sizeof digits, *request.contentLength).ptr;
    emit("content-length", std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  forEachAddedField(request, info, seen, emit);
  out.resize(used);
}

std::string responseHeadForClient(const MessageHead& response, BodyFraming framing, bool keepAlive,
                                  bool via, bool toHttp10) {
  std::string out;
  appendResponseHeadForClient(out, response, framing, keepAlive, via, toHttp10);
  return out;
}

void appendResponseHeadForClient(std::string& out, const MessageHead& response,
                                 BodyFraming framing, bool keepAlive, bool via, bool toHttp10,
                                 std::string_view hsts) {
  bool checkConnection = connectionNamesFields(response);
  char status[16];
  char* statusEnd = std::to_chars(status, status + sizeof status, response.status).ptr;
  out.append("HTTP/1.1 ").append(status, statusEnd).append(" ").append(response.reason);
  out.append("\r\n");
  for (const HeaderField& field : response.headers) {
    if (isHopByHop(response, field.name, response.upgrade, checkConnection)) continue;
    appendHeader(out, field.name, field.value);
  }
  if (response.upgrade) {
    appendHeader(out, "Connection", "upgrade");
  } else if (!keepAlive) {
    appendHeader(out, "Connection", "close");
  } else if (toHttp10) {
    // HTTP/1.0 closes unless told otherwise: a kept connection must be announced.
    appendHeader(out, "Connection", "keep-alive");
  }
  // A HEAD or 304 answer keeps the length it announced, with no body after it.
  if (framing == BodyFraming::None && response.contentLength && !response.chunked) {
    appendHeader(out, "Content-Length", std::to_string(*response.contentLength));
  } else {
    appendFraming(out, response, framing);
  }
  if (via) appendHeader(out, "Via", "1.1 readygate");
  if (!hsts.empty() && !response.find("Strict-Transport-Security")) {
    appendHeader(out, "Strict-Transport-Security", hsts);
  }
  out.append("\r\n");
}

void responseFieldsForH2(std::vector<HeaderField>& out, const MessageHead& response, bool via,
                         std::string_view hsts) {
  size_t used = 0;
  auto add = [&](std::string_view name, std::string_view value) {
    if (used == out.size()) out.emplace_back();
    HeaderField& field = out[used++];
    field.name.assign(name);
    for (char& c : field.name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    field.value.assign(value);
  };
  bool checkConnection = connectionNamesFields(response);
  for (const HeaderField& field : response.headers) {
    if (isHopByHop(response, field.name, false, checkConnection)) continue;
    add(field.name, field.value);
  }
  if (response.contentLength && !response.chunked) {
    add("content-length", std::to_string(*response.contentLength));
  }
  if (via) add("via", "1.1 readygate");
  if (!hsts.empty() && !response.find("Strict-Transport-Security")) {
    add("strict-transport-security", hsts);
  }
  out.resize(used);
}

std::string errorBody(int status, std::string_view reason) {
  return std::to_string(status) + " " + httpStatusText(status) + " (" + std::string(reason) + ")\n";
}

std::string errorResponse(int status, std::string_view reason, bool keepAlive,
                          std::string_view extraHeaders) {
  std::string body = errorBody(status, reason);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + httpStatusText(status) + "\r\n";
  appendHeader(out, "Content-Type", "text/plain; charset=utf-8");
  appendHeader(out, "Content-Length", std::to_string(body.size()));
  if (status == 503) appendHeader(out, "Retry-After", "1");
  appendHeader(out, "Connection", keepAlive ? "keep-alive" : "close");
  appendHeader(out, "Server", "readygate");
  out.append(extraHeaders);
  out.append("\r\n").append(body);
  return out;
}

ChunkHeader::ChunkHeader(size_t size) {
  char* end = std::to_chars(text_, text_ + sizeof text_ - 2, size, 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  length_ = static_cast<size_t>(end - text_);
}

}  // namespace readygate
