// Fuzz target: any header list an HTTP/2 client may send (lines of name, a NUL, value) as a
// request for an HTTP/1.1 backend. Whatever is accepted must be safe to write as HTTP/1.1.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/h2_request_translation.h"

namespace {

bool breaksALine(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.empty()) return 0;
  bool endStream = (input.front() & 1) != 0;
  input.remove_prefix(1);
  std::vector<readygate::HeaderField> fields;
  while (!input.empty() && fields.size() < 64) {
    // Fields end at a 0x01 byte (so values may hold CR, LF and NUL, as on the wire).
    size_t end = input.find('\x01');
    std::string_view line = input.substr(0, end);
    size_t split = line.find('\0');
    fields.push_back({std::string(line.substr(0, split)),
                      split == std::string_view::npos ? "" : std::string(line.substr(split + 1))});
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  auto result = readygate::translateH2Request(fields, endStream);
  auto* head = std::get_if<readygate::MessageHead>(&result);
  if (head == nullptr) {
    if (std::get<readygate::H2StreamError>(result).reason.empty()) __builtin_trap();
    return 0;
  }
  // What is accepted is written as an HTTP/1.1 head: no line may break, Host comes first,
  // nothing hop-by-hop or framing may come from the client but the one framing we chose.
  if (head->method.empty() || breaksALine(head->method) || breaksALine(head->target) ||
      head->target.find(' ') != std::string::npos) {
    __builtin_trap();
  }
  if (head->headers.empty() || head->headers.front().name != "host") __builtin_trap();
  size_t lengths = 0;
  size_t transferEncodings = 0;
  for (const readygate::HeaderField& field : head->headers) {
    if (field.name.empty() || breaksALine(field.name) || breaksALine(field.value)) __builtin_trap();
    if (field.name.find(':') != std::string::npos || field.name.find(' ') != std::string::npos) {
      __builtin_trap();
    }
    if (field.name == "connection" || field.name == "upgrade" || field.name == "te") {
      __builtin_trap();
    }
    lengths += field.name == "content-length";
    transferEncodings += field.name == "transfer-encoding";
  }
  if (lengths > 1 || transferEncodings > 1 || (lengths == 1 && transferEncodings == 1)) {
    __builtin_trap();
  }
  return 0;
}
