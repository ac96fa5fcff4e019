// Fuzz target: any bytes at the start of a connection on a listener that takes PROXY headers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/transport/proxy_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto accept : {readygate::ProxyProtocolVersions::V1, readygate::ProxyProtocolVersions::V2,
                      readygate::ProxyProtocolVersions::Any}) {
    auto parse = readygate::parseProxyHeader(bytes, accept);
    using Status = readygate::ProxyHeaderParse::Status;
    // A finished header never claims bytes that are not there, nor more than the cap.
    if (parse.status == Status::Done &&
        (parse.length == 0 || parse.length > size || parse.length > readygate::kMaxProxyHeaderBytes)) {
      __builtin_trap();
    }
    if (parse.status == Status::Invalid && parse.error.empty()) __builtin_trap();
    // Incomplete input never stays incomplete past the cap (the reader would wait forever).
    if (parse.status == Status::NeedMore && size >= readygate::kMaxProxyHeaderBytes) __builtin_trap();
  }
  return 0;
}
