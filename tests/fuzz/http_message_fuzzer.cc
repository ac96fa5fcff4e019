// Fuzz target: bytes from a client or a backend through MessageReader (chunked decoding,
// smuggling checks, limits), fed in pieces as a socket would deliver them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/http/message_reader.h"

namespace {

class CountingEvents : public readygate::MessageReader::Events {
 public:
  void onHead(readygate::MessageHead& head) override { heads += head.headers.size() + 1; }
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
