// Fuzz target: bytes from a client or a backend through MessageReader (chunked decoding,
// smuggling checks, limits, the look-ahead check), fed in pieces as a socket would deliver
// them; each request head through prepareRequest and the route path normalization.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/route_match.h"
#include "proxy/http/message_reader.h"
#include "proxy/http/request_checks.h"

namespace {

class CountingEvents : public readygate::MessageReader::Events {
 public:
  void onHead(readygate::MessageHead& head) override {
    heads += head.headers.size() + 1;
    readygate::MessageHead copy = head;
    if (!readygate::prepareRequest(copy)) {
      std::string path = readygate::normalizePathForMatching(copy.target);
      if (path.empty() || path.front() != '/' || path.find("//") != std::string::npos) {
        __builtin_trap();  // normalized paths are absolute, slashes merged
      }
    }
  }
  void onBody(std::string_view data) override { bodyBytes += data.size(); }
  void onMessageEnd() override { ++messages; }
  size_t heads = 0;
  size_t bodyBytes = 0;
  size_t messages = 0;
};

}  // namespace

// First byte: bit 0 picks request or response, bit 1 a HEAD answer, the rest the size of
// the pieces the remaining bytes arrive in.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto kind = (data[0] & 1) ? readygate::MessageReader::Kind::Response
                            : readygate::MessageReader::Kind::Request;
  size_t piece = (data[0] >> 2) + 1;
  CountingEvents events;
  readygate::MessageReader reader(kind, {2048, 512}, events);
  reader.expectNoBody((data[0] & 2) != 0);
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!input.empty() && !reader.failed()) {
    std::string_view part = input.substr(0, piece);
    if (reader.inBody() && !reader.validateAhead(std::span(&part, 1))) break;
    size_t used = reader.feed(part);
    if (used > part.size()) __builtin_trap();  // consumed more than it was given
    input.remove_prefix(used);
    if (reader.paused()) {
      reader.resume();
    } else if (used == 0) {
      break;  // neither paused nor consuming: would spin in a session too
    }
  }
  if (!reader.failed()) (void)reader.finish();
  return 0;
}
