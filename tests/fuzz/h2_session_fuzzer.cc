// Fuzz target: any bytes an HTTP/2 client may send after the connection preface, into the
// server session, with a responder that answers, streams bodies, resets and consumes as
// the input's first byte says. What comes out as a request must be safe for an HTTP/1.1
// backend, and a stream's body never exceeds the Content-Length its head announced.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "proxy/http/h2_server_session.h"

namespace {

bool breaksALine(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

struct Responder : readygate::H2ServerSession::Events {
  readygate::H2ServerSession* session = nullptr;
  uint8_t mode = 0;
  std::map<int32_t, uint64_t> announced;  // Content-Length per stream
  std::map<int32_t, uint64_t> received;

  void onRequestHead(int32_t stream, readygate::MessageHead& head, bool) override {
    if (head.headers.empty() || head.headers.front().name != "host") abort();
    if (breaksALine(head.method) || breaksALine(head.target)) abort();
    for (const readygate::HeaderField& field : head.headers) {
      if (breaksALine(field.name) || breaksALine(field.value)) abort();
      for (char c : field.name) {
        if (c >= 'A' && c <= 'Z') abort();
      }
    }
    if (head.contentLength) announced[stream] = *head.contentLength;
    if (mode & 1) {
      readygate::MessageHead response;
      response.status = 200;
      response.headers = {{"Content-Type", "text/plain"}, {"Connection", "close"}};
      session->submitResponse(stream, response, true);
      session->sendBody(stream, std::string(mode & 2 ? 70000 : 10, 'r'));
      if (mode & 4) session->endBody(stream);
    }
    if (mode & 8) session->resetStream(stream, readygate::kH2Cancel, false);
  }
  void onRequestData(int32_t stream, std::string_view data) override {
    received[stream] += data.size();
    auto limit = announced.find(stream);
    if (limit != announced.end() && received[stream] > limit->second) abort();
    if (mode & 16) session->consume(stream, data.size());
  }
  void onRequestEnd(int32_t stream, std::string_view trailers) override {
    if (trailers.find('\0') != std::string_view::npos) abort();
    auto limit = announced.find(stream);
    if (limit != announced.end() && received[stream] != limit->second) abort();
    if (mode & 32) session->endBody(stream);
  }
  void onStreamClosed(int32_t stream, uint32_t) override {
    announced.erase(stream);
    received.erase(stream);
  }
  void onResponseDrained(int32_t) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  readygate::Http2Settings settings;
  settings.glitchThreshold = 50 + data[1];
  Responder responder;
  responder.mode = data[0];
  readygate::H2ServerSession session(settings, 4096, responder);
  responder.session = &session;
  if (!session.start()) return 0;
  std::string input = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  input.append(reinterpret_cast<const char*>(data + 2), size - 2);
  // In pieces, as reads would bring it, with output drained between them.
  size_t piece = 1 + (data[1] % 64) * 16;
  double now = 0;
  for (size_t offset = 0; offset < input.size(); offset += piece) {
    now += 0.01;
    bool alive = session.receive(std::string_view(input).substr(offset, piece), now);
    while (!session.nextOutput().empty()) {
    }
    if (!alive || session.finished()) break;
  }
  session.beginGracefulClose();
  session.finishGracefulClose();
  while (!session.nextOutput().empty()) {
  }
  return 0;
}
