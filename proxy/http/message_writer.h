// Writing heads and re-framed bodies: what the proxy sends upstream and back to the client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/http_message.h"

namespace readygate {

/// How a body is framed on the wire the proxy writes.
enum class BodyFraming {
  None,           // no body (HEAD, 204, 304, a GET without one)
  ContentLength,  // the same length as it arrived with
  Chunked,        // re-chunked: chunk sizes are the proxy's own
  UntilClose,     // an HTTP/1.0 client: the body ends when the proxy closes
};

/// What the proxy adds to a request it forwards (views of the caller's strings).
struct ForwardingInfo {
  std::string_view clientAddress;  // for X-Forwarded-For (the peer's IP, no port)
  std::string_view requestId;      // X-Request-Id to add when the request has none
  bool forwardedHeaders = true;
  bool via = false;
  /// The client is a trusted proxy: its X-Forwarded-For is kept and appended to;
  /// otherwise whatever it claims is replaced by its own address.
  bool trustIncomingForwardedFor = false;
  bool secure = false;  // the client came over TLS: X-Forwarded-Proto https
  /// mTLS: a header of this name is dropped from the request whatever it says, and set
  /// to `clientSubject` when that is not empty (the verified client certificate).
  std::string_view clientSubjectHeader = {};
  std::string_view clientSubject = {};
  /// The Host sent for an HTTP/1.0 request that has none: the head goes out as HTTP/1.1,
  /// which requires one (RFC 9112 §3.2), and a backend answers 400 without it.
  std::string_view hostIfMissing = {};
};

/// The request head sent upstream: HTTP/1.1 (the pool keeps connections), hop-by-hop
/// headers dropped (Connection, the headers it names but Host, Keep-Alive, Proxy-Connection,
/// TE, Trailer, Transfer-Encoding, HTTP2-Settings, Upgrade unless upgrading), framing
/// re-stated, the X-Forwarded-* / X-Request-Id / Via headers added, and a Host added
/// when the request has none (HTTP/1.0).
/// Appends it to `out`: a session reuses one string's capacity for every request.
void appendRequestHeadForUpstream(std::string& out, const MessageHead& request,
                                  BodyFraming framing, const ForwardingInfo& info);
std::string requestHeadForUpstream(const MessageHead& request, BodyFraming framing,
                                   const ForwardingInfo& info);
/// The same request for an HTTP/2 backend into `out` (its strings' buffers reused):
/// :method, :scheme (`tls`: https), :authority from Host, :path, then the fields as
/// for HTTP/1 with lowercase names, Host left out, `te: trailers` kept when the client
/// sent it (gRPC needs it), and content-length when the body's length is known.
void requestFieldsForH2Upstream(std::vector<HeaderField>& out, const MessageHead& request,
                                const ForwardingInfo& info, bool tls);

/// The response head sent to the client; `keepAlive` says whether the proxy keeps the
/// client connection after this response (announced to an HTTP/1.0 client, `toHttp10`,
/// with `Connection: keep-alive`, since HTTP/1.0 closes by default).
/// `hsts`: a Strict-Transport-Security value to add unless the backend sent its own.
void appendResponseHeadForClient(std::string& out, const MessageHead& response,
                                 BodyFraming framing, bool keepAlive, bool via,
                                 bool toHttp10 = false, std::string_view hsts = {});
std::string responseHeadForClient(const MessageHead& response, BodyFraming framing, bool keepAlive,
                                  bool via, bool toHttp10 = false);

/// The response's fields for an HTTP/2 client, into `out` (emptied first; its strings'
/// buffers reused): names lowercase, every connection-specific field left out (RFC 9113
/// §8.2.2), Content-Length kept when it is the body's (HEAD and 304 included), then Via
/// and `hsts` as for HTTP/1.
void responseFieldsForH2(std::vector<HeaderField>& out, const MessageHead& response, bool via,
                         std::string_view hsts = {});

/// The body of a response readygate makes itself ("503 Service Unavailable (reason)\n").
std::string errorBody(int status, std::string_view reason);

/// A response readygate makes itself: small, `Connection: close` unless `keepAlive`.
/// 503 gets `Retry-After: 1`. `extraHeaders`: whole header lines (Location, HSTS).
std::string errorResponse(int status, std::string_view reason, bool keepAlive,
                          std::string_view extraHeaders = {});

/// The size line of one chunk of a re-chunked body ("1a\r\n"), formatted in place: no
/// allocation per chunk.
class ChunkHeader {
 public:
  explicit ChunkHeader(size_t size);
  std::string_view view() const { return {text_, length_}; }

 private:
  char text_[24];
  size_t length_;
};
/// The last chunk, and what ends each chunk's data.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
inline constexpr std::string_view kChunkEnd = "\r\n";

/// The framing a body keeps on its way through, given the head it came with and the
/// peer it goes to (`toHttp10`: an HTTP/1.0 client cannot take chunks).
BodyFraming framingFor(const MessageHead& head, bool hasBody, bool toHttp10);

}  // namespace readygate
