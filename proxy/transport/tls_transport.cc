// TlsTransport implementation.
#include "proxy/transport/tls_transport.h"

#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/transport/tls_errors.h"

namespace readygate {
namespace {

/// A TLS record's largest payload: what one SSL_write turns into one record.
constexpr size_t kRecordBytes = 16 * 1024;

}  // namespace

TlsTransport::TlsTransport(SslPtr ssl, int fd, Role role) : ssl_(std::move(ssl)) {
  SSL_set_fd(ssl_.get(), fd);
  // A write may return after one record, and its buffer may move between retries (the
  // queue copies what was not sent into its own blocks).
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
  if (role == Role::Server) {
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
}

IoResult TlsTransport::outcome(int returned, bool forHandshake) {
  if (returned > 0) return {returned, 0};
  int error = SSL_get_error(ssl_.get(), returned);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return {0, EAGAIN, false};
    case SSL_ERROR_WANT_WRITE:
      return {0, EAGAIN, true};
    case SSL_ERROR_ZERO_RETURN:  // close_notify: the end of the stream
      ERR_clear_error();
      return {0, 0};
    case SSL_ERROR_SYSCALL: {
      int saved = errno;
      failed_ = true;
      failure_ = std::make_unique<std::string>(
          takeOpensslError(saved != 0 ? strerror(saved) : "connection closed"));
      // A bare FIN (no close_notify) ends a stream as it does for plain TCP; in a
      // handshake it is a failure.
      if (saved == 0) return {0, forHandshake ? ECONNRESET : 0};
      return {0, saved};
    }
    default: {
      failed_ = true;
      unsigned long code = ERR_peek_error();
      failureReason_ = code != 0 ? ERR_GET_REASON(code) : 0;
      failure_ = std::make_unique<std::string>(takeOpensslError());
      return {0, EPROTO};
    }
  }
}

IoResult TlsTransport::handshake(int) {
  if (failed_) return {0, EPROTO};
  ERR_clear_error();
  int done = SSL_do_handshake(ssl_.get());
  return outcome(done, true);
}

IoResult TlsTransport::read(int, char* into, size_t size) {
  if (failed_) return {0, EPIPE};
  ERR_clear_error();
  int got = SSL_read(ssl_.get(), into, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
  return outcome(got, false);
}

IoResult TlsTransport::write(int, const iovec* vectors, int count) {
  if (failed_) return {0, EPIPE};
  // Small pieces (a head and a body) go out as one record; a half-sent record is offered
  // again with at least its bytes, from wherever the caller now keeps them.
  thread_local std::string gathered;
  size_t total = 0;
  for (int i = 0; i < count; ++i) total += vectors[i].iov_len;
  ssize_t sent = 0;
  int next = 0;
  size_t offset = 0;  // into vectors[next]
  while (next < count) {
    const char* data;
    size_t length;
    size_t remaining = total - static_cast<size_t>(sent);
    size_t firstLength = vectors[next].iov_len - offset;
    bool gather = (count - next > 1 && firstLength < kRecordBytes) || firstLength < retryBytes_;
    if (gather) {
      size_t want = std::min(remaining, std::max(kRecordBytes, retryBytes_));
      gathered.clear();
      int at = next;
      size_t from = offset;
      while (gathered.size() < want && at < count) {
        size_t take = std::min(vectors[at].iov_len - from, want - gathered.size());
        gathered.append(static_cast<const char*>(vectors[at].iov_base) + from, take);
        from = 0;
        ++at;
      }
      data = gathered.data();
      length = gathered.size();
    } else {
      data = static_cast<const char*>(vectors[next].iov_base) + offset;
      length = firstLength;
    }
    ERR_clear_error();
    int wrote = SSL_write(ssl_.get(), data, static_cast<int>(std::min<size_t>(length, INT32_MAX)));
    if (wrote <= 0) {
      IoResult result = outcome(wrote, false);
      if (result.error == EAGAIN) retryBytes_ = std::max(retryBytes_, length);
      if (result.error == 0) result.error = EPIPE;  // the peer said goodbye: nothing more goes
      // What went out is reported now; an error comes again with the next write.
      return sent > 0 ? IoResult{sent, 0} : result;
    }
    retryBytes_ = 0;
    sent += wrote;
    // Step over what this record carried.
    size_t advance = static_cast<size_t>(wrote);
    while (advance > 0 && next < count) {
      size_t left = vectors[next].iov_len - offset;
      if (advance < left) {
        offset += advance;
        advance = 0;
      } else {
        advance -= left;
        offset = 0;
        ++next;
      }
    }
    while (next < count && vectors[next].iov_len == 0) ++next;
  }
  return {sent, 0};
}

void TlsTransport::sayGoodbye(int) {
  if (failed_ || goodbyeSaid_ || !SSL_is_init_finished(ssl_.get())) return;
  goodbyeSaid_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // sends close_notify if the socket takes it; never waits
  ERR_clear_error();
}

std::string_view TlsTransport::alpn() const {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &protocol, &length);
  return protocol ? std::string_view(reinterpret_cast<const char*>(protocol), length)
                  : std::string_view();
}

const std::string& TlsTransport::failure() const {
  static const std::string none;
  return failure_ ? *failure_ : none;
}

std::string_view TlsTransport::serverName() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

}  // namespace readygate
