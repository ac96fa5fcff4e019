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

void appendRequestHeadForUpstream(std::string& out, const MessageHead& request,
                                  BodyFraming framing, const ForwardingInfo& info) {
  bool checkConnection = connectionNamesFields(request);
  out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  if (!info.hostIfMissing.empty() && request.find("Host") == nullptr) {
    appendHeader(out, "Host", info.hostIfMissing);
  }
  const std::string* forwardedFor = nullptr;
  bool hasRequestId = false;
  for (const HeaderField& field : request.headers) {
    if (isHopByHop(request, field.name, request.upgrade, checkConnection)) continue;
    if (info.forwardedHeaders && equalsIgnoreCase(field.name, "X-Forwarded-For")) {
      // Appended to below, from a trusted proxy only: anyone else could claim any address.
      if (info.trustIncomingForwardedFor) forwardedFor = &field.value;
      continue;
    }
    if (info.forwardedHeaders && (equalsIgnoreCase(field.name, "X-Forwarded-Proto") ||
                                  equalsIgnoreCase(field.name, "X-Forwarded-Host"))) {
      continue;  // what this proxy saw replaces what the client claims
    }
    if (!info.clientSubjectHeader.empty() && equalsIgnoreCase(field.name, info.clientSubjectHeader)) {
      continue;  // only readygate may say who the client's certificate names
    }
    if (equalsIgnoreCase(field.name, "X-Request-Id")) hasRequestId = true;
    appendHeader(out, field.name, field.value);
  }
  if (request.upgrade) appendHeader(out, "Connection", "upgrade");
  appendFraming(out, request, framing);
  if (info.forwardedHeaders) {
    if (forwardedFor != nullptr) {
      out.append("X-Forwarded-For: ").append(*forwardedFor).append(", ");
      out.append(info.clientAddress).append("\r\n");
    } else {
      appendHeader(out, "X-Forwarded-For", info.clientAddress);
    }
    appendHeader(out, "X-Forwarded-Proto", info.secure ? "https" : "http");
    if (const std::string* host = request.find("Host")) {
      appendHeader(out, "X-Forwarded-Host", *host);
    }
  }
  if (!hasRequestId && !info.requestId.empty()) appendHeader(out, "X-Request-Id", info.requestId);
  if (!info.clientSubject.empty()) appendHeader(out, info.clientSubjectHeader, info.clientSubject);
  if (info.via) {
    appendHeader(out, "Via", request.http10() ? "1.0 readygate" : "1.1 readygate");
  }
  out.append("\r\n");
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
