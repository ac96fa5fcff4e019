// What readygate's two nghttp2 sessions (client and server side) share: the owning handle,
// field views, in-memory output, and nghttp2's flood limits.
#pragma once

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/http_message.h"

namespace readygate {

struct Nghttp2SessionDeleter {
  void operator()(nghttp2_session* session) const { nghttp2_session_del(session); }
};
using Nghttp2SessionPtr = std::unique_ptr<nghttp2_session, Nghttp2SessionDeleter>;

/// A header field for nghttp2, viewing `name` and `value` (they outlive the submit call).
inline nghttp2_nv nghttp2Field(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

/// The next bytes the session has to send, valid until its next call; empty when none.
inline std::string_view nextOutput(nghttp2_session* session) {
  const uint8_t* data = nullptr;
  ssize_t length = nghttp2_session_mem_send(session, &data);
  if (length <= 0) return {};
  return std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
}

/// Nothing more to read or to send: the connection may close.
inline bool sessionFinished(nghttp2_session* session) {
  return nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0;
}

/// One received field into `fields`, unless the list would pass `limit` by RFC 9113
/// §6.5.2's measure (each field plus 32, summed in `listBytes`): false then.
inline bool keepField(std::vector<HeaderField>& fields, size_t& listBytes, size_t limit,
                      const uint8_t* name, size_t nameLength, const uint8_t* value,
                      size_t valueLength) {
  listBytes += nameLength + valueLength + 32;
  if (listBytes > limit) return false;
  fields.push_back(HeaderField{std::string(reinterpret_cast<const char*>(name), nameLength),
                               std::string(reinterpret_cast<const char*>(value), valueLength)});
  return true;
}

/// A stream's body bytes waiting for nghttp2's data callback: appended by the owner,
/// taken in frame-sized pieces. What was taken is dropped in bulk, not per piece.
class PendingBytes {
 public:
  void append(std::string_view data) { bytes_.append(data); }
  size_t size() const { return bytes_.size() - offset_; }
  /// Copies up to `length` bytes into `buffer`; how many.
  size_t take(uint8_t* buffer, size_t length) {
    size_t n = std::min(length, size());
    if (n == 0) return 0;
    memcpy(buffer, bytes_.data() + offset_, n);
    offset_ += n;
    if (offset_ == bytes_.size()) {
      bytes_.clear();
      offset_ = 0;
    } else if (offset_ >= 16384 && offset_ * 2 >= bytes_.size()) {
      bytes_.erase(0, offset_);
      offset_ = 0;
    }
    return n;
  }

 private:
  std::string bytes_;
  size_t offset_ = 0;
};

/// nghttp2's limits on what a peer can make it queue or keep, spelled out (its defaults
/// where it has them; the symbols are checked for at configure time).
inline void setFloodLimits(nghttp2_option* option) {
#ifdef READYGATE_NGHTTP2_MAX_OUTBOUND_ACK
  nghttp2_option_set_max_outbound_ack(option, 1000);
#endif
#ifdef READYGATE_NGHTTP2_MAX_SETTINGS
  nghttp2_option_set_max_settings(option, 32);
#endif
#ifdef READYGATE_NGHTTP2_MAX_CONTINUATIONS
  nghttp2_option_set_max_continuations(option, 8);
#endif
  (void)option;
}

}  // namespace readygate
