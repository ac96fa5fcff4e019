// Fuzz target: any bytes an HTTP/2 backend may send, into the client session with three
// requests open (one still sending its body), with a reader that consumes, resets and
// sends more as the input's first byte says. Heads reach the exchange only with a status,
// never a pseudo-header among their fields; a stream ends or closes once, never both
// after being closed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/h2_client_session.h"

namespace {

struct Reader : readygate::H2ClientSession::Events {
  readygate::H2ClientSession* session = nullptr;
  uint8_t mode = 0;
  std::set<int32_t> closed;

  void onResponseHead(int32_t stream, readygate::MessageHead& head, bool) override {
    if (closed.count(stream) != 0) abort();
    if (head.status < 100 || head.status > 999) abort();
    for (const readygate::HeaderField& field : head.headers) {
      if (!field.name.empty() && field.name.front() == ':') abort();
    }
    if (mode & 1) session->resetStream(stream, readygate::kH2Cancel);
  }
  void onResponseData(int32_t stream, std::string_view data) override {
    if (closed.count(stream) != 0) abort();
    if (mode & 2) session->consume(stream, data.size());
  }
  void onResponseEnd(int32_t stream, std::vector<readygate::HeaderField>& trailers) override {
    if (closed.count(stream) != 0) abort();
    for (const readygate::HeaderField& field : trailers) {
      if (field.name.empty()) abort();
    }
    if (mode & 4) session->sendBody(stream, "late");
  }
  void onStreamClosed(int32_t stream, uint32_t) override {
    if (!closed.insert(stream).second) abort();
  }
};

std::vector<readygate::HeaderField> request() {
  return {{":method", "POST"}, {":scheme", "http"}, {":authority", "b"}, {":path", "/x"},
          {"te", "trailers"}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Reader reader;
  reader.mode = data[0];
  readygate::H2ClientSession::Limits limits;
  limits.maxHeaderListBytes = 512 + data[1] * 16;
  readygate::H2ClientSession session(limits, reader);
  reader.session = &session;
  if (!session.start()) return 0;
  session.submitRequest(request(), true);
  int32_t uploading = session.submitRequest(request(), false);
  session.sendBody(uploading, std::string(70000, 'u'));
  session.submitRequest(request(), true);
  while (!session.nextOutput().empty()) {
  }
  size_t piece = 1 + (data[1] % 64) * 16;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  for (size_t offset = 0; offset < input.size(); offset += piece) {
    bool alive = session.receive(input.substr(offset, piece));
    if (reader.mode & 8) session.endRequest(uploading, {{"x-sum", "1"}});
    while (!session.nextOutput().empty()) {
    }
    if (!alive || session.finished()) break;
  }
  session.shutdown();
  while (!session.nextOutput().empty()) {
  }
  return 0;
}
