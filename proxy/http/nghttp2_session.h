// What readygate's two nghttp2 sessions (client and server side) share: the owning handle,
// field views, in-memory output, and nghttp2's flood limits.
#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>
#include <string_view>

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
