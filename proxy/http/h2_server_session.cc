// H2ServerSession implementation: an nghttp2 server session with in-memory I/O.
#include "proxy/http/h2_server_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "proxy/http/h2_request_translation.h"
#include "proxy/http/message_writer.h"

namespace readygate {
namespace {

/// PING and SETTINGS (and PRIORITY) a client may send for free: a burst, refilled per
/// second. Browsers and gRPC's keepalive and BDP pings stay far below it.
constexpr double kControlBurst = 100;
constexpr double kControlPerSecond = 10;
/// The PING of a graceful close: its answer means the client has seen the notice.
constexpr uint8_t kGracefulPing[8] = {'r', 'g', 'c', 'l', 'o', 's', 'e', '!'};

/// Trailer fields as HTTP/1.1 chunked trailers; the same character rules as the head's.
/// Pseudo-headers and fields that frame or route the message are not trailers.
bool appendTrailers(std::string& out, const std::vector<HeaderField>& fields) {
  for (const HeaderField& f : fields) {
    if (f.name.empty() || f.name.front() == ':') return false;
    for (char c : f.name) {
      if (c >= 'A' && c <= 'Z') return false;
      if (c <= ' ' || c == ':' || c == 0x7f) return false;
    }
    if (f.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) return false;
    if (f.name == "content-length" || f.name == "transfer-encoding" || f.name == "host" ||
        f.name == "connection" || f.name == "te" || f.name == "trailer") {
      continue;  // meaningless or dangerous after the body: dropped, as nginx does
    }
    out.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  return true;
}

}  // namespace

/// The nghttp2 callbacks, each a thin step into the session object.
struct H2ServerCallbacks {
  static H2ServerSession& self(void* data) { return *static_cast<H2ServerSession*>(data); }

  /// Every frame's header, before nghttp2 acts on it. nghttp2 quietly ignores HEADERS
  /// on a stream id already used (it cannot tell a reuse from trailers that crossed our
  /// reset); RFC 9113 §5.1.1 calls an unexpected stream id a connection error, so it is
  /// one here unless the stream is one of the last we reset.
  static int onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* data) {
    H2ServerSession& s = self(data);
    if (hd->type != NGHTTP2_HEADERS || hd->stream_id <= 0 || (hd->stream_id & 1) == 0) return 0;
    if (hd->stream_id > s.lastRequestId_) {
      s.lastRequestId_ = hd->stream_id;
      return 0;
    }
    if (s.streams_.count(hd->stream_id) != 0) return 0;  // trailers
    for (int32_t reset : s.recentResets_) {
      if (reset == hd->stream_id) return 0;
    }
    ++s.counters_.framesRefused;
    s.failure_ = "stream_id_reused";
    s.terminate(kH2ProtocolError);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* data) {
    H2ServerSession& s = self(data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    int32_t id = frame->hd.stream_id;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      ++s.streamsBegun_;
      H2ServerSession::Stream& stream = s.streams_[id];
      stream.fields.reserve(16);  // a browser's request has about a dozen
      if (s.streams_.size() > static_cast<size_t>(s.settings_.maxConcurrentStreams)) {
        // nghttp2 refuses streams past the advertised limit itself; this holds the line
        // for streams whose exchange is still winding down.
        s.refuse(id, stream, "too_many_streams", kH2RefusedStream);
      }
      if (s.settings_.maxStreamsPerConnection > 0 &&
          s.streamsBegun_ >= static_cast<uint64_t>(s.settings_.maxStreamsPerConnection)) {
        s.beginGracefulClose();
      }
      return 0;
    }
    if (H2ServerSession::Stream* stream = s.find(id)) {
      stream->fields.clear();  // trailers
      stream->headerBytes = 0;
    }
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t,
                      void* data) {
    H2ServerSession& s = self(data);
    H2ServerSession::Stream* stream = s.find(frame->hd.stream_id);
    if (stream == nullptr || stream->refused) return 0;
    if (!keepField(stream->fields, stream->headerBytes, s.maxHeaderListBytes_, name, nameLength,
                   value, valueLength)) {
      s.refuse(frame->hd.stream_id, *stream, "header_list_too_large");
    }
    return 0;
  }

  static int onFrameReceived(nghttp2_session*, const nghttp2_frame* frame, void* data) {
    H2ServerSession& s = self(data);
    int32_t id = frame->hd.stream_id;
    bool endStream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (H2ServerSession::Stream* stream = s.find(id)) s.headersDone(id, *stream, endStream);
        break;
      case NGHTTP2_DATA:
        if (frame->hd.length == 0 && !endStream) s.glitch();  // an empty frame does nothing
        if (endStream) {
          H2ServerSession::Stream* stream = s.find(id);
          if (stream && stream->headSeen && !stream->refused) {
            if (stream->hasContentLength && stream->received != stream->contentLength) {
              s.refuse(id, *stream, "content_length_mismatch");
              break;
            }
            stream->requestEnded = true;
            s.events_.onRequestEnd(id, {});
          }
        }
        break;
      case NGHTTP2_SETTINGS:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
          s.settingsAcked_ = true;
        } else {
          s.controlFrame();
        }
        break;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
          s.controlFrame();
        } else if (memcmp(frame->ping.opaque_data, kGracefulPing, 8) == 0 && s.gracefulBegun_) {
          s.finishGracefulClose();
        }
        break;
      case NGHTTP2_PRIORITY:
        s.controlFrame();
        break;
      case NGHTTP2_RST_STREAM:
        ++s.counters_.resetsReceived[frame->rst_stream.error_code];
        s.glitch();  // Rapid Reset: a stream opened only to be cancelled
        break;
      case NGHTTP2_GOAWAY:
        ++s.counters_.goawaysReceived;
        break;
      default:
        break;
    }
    return 0;
  }

  static int onInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void* data) {
    H2ServerSession& s = self(data);
    ++s.counters_.framesRefused;
    s.glitch();
    return 0;
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* bytes,
                         size_t length, void* data) {
    H2ServerSession& s = self(data);
    H2ServerSession::Stream* stream = s.find(id);
    if (stream == nullptr || !stream->headSeen || stream->refused || stream->requestEnded) {
      nghttp2_session_consume(session, id, length);  // nobody takes it: the window reopens
      return 0;
    }
    stream->received += length;
    if (stream->hasContentLength && stream->received > stream->contentLength) {
      // More than the head announced: the backend would read the rest as a new request.
      nghttp2_session_consume(session, id, length);
      s.refuse(id, *stream, "content_length_mismatch");
      return 0;
    }
    stream->unconsumed += length;
    s.events_.onRequestData(id, std::string_view(reinterpret_cast<const char*>(bytes), length));
    return 0;
  }

  static int onStreamClose(nghttp2_session* session, int32_t id, uint32_t code, void* data) {
    H2ServerSession& s = self(data);
    auto found = s.streams_.find(id);
    if (found == s.streams_.end()) return 0;
    // What the owner never gave back still holds the connection's window.
    if (found->second.unconsumed > 0) {
      nghttp2_session_consume_connection(session, found->second.unconsumed);
    }
    size_t unsent = found->second.body.size();
    bool delivered = found->second.headSeen;  // Events knows the stream
    s.streams_.erase(found);
    if (delivered) s.events_.onStreamClosed(id, code);
    s.bodyTaken(unsent);  // a reset stream's response is dropped
    return 0;
  }

  static int onFrameSent(nghttp2_session* session, const nghttp2_frame* frame, void* data) {
    H2ServerSession& s = self(data);
    int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_RST_STREAM: {
        ++s.counters_.resetsSent[frame->rst_stream.error_code];
        s.recentResets_[s.nextRecentReset_++ % std::size(s.recentResets_)] = id;
        H2ServerSession::Stream* stream = s.find(id);
        // MadeYouReset: resets the client provokes are its glitches too (nghttp2's own,
        // for a window overflow or a bad frame, have no stream marked as ours).
        if (stream == nullptr || !stream->localReset) s.glitch();
        break;
      }
      case NGHTTP2_GOAWAY:
        ++s.counters_.goawaysSent;
        break;
      case NGHTTP2_DATA:
      case NGHTTP2_HEADERS:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
          H2ServerSession::Stream* stream = s.find(id);
          if (stream != nullptr && !stream->requestEnded) {
            // Answered before the request was all sent: the rest is not wanted (RFC 9113
            // §8.1); NO_ERROR says so without calling it an error.
            stream->localReset = true;
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
          }
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static ssize_t readBody(nghttp2_session*, int32_t id, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* data) {
    H2ServerSession& s = self(data);
    H2ServerSession::Stream* stream = s.find(id);
    if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (stream->body.size() == 0) {
      if (stream->bodyEnded) {
        s.endWithTrailers(id, *stream, flags);
        return 0;
      }
      stream->bodyDeferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = stream->body.take(buffer, length);
    size_t queued = stream->body.size();
    if (queued == 0 && stream->bodyEnded) s.endWithTrailers(id, *stream, flags);
    if (stream->drainMark != SIZE_MAX && queued <= stream->drainMark) {
      stream->drainMark = SIZE_MAX;
      s.events_.onResponseDrained(id);
    }
    s.bodyTaken(n);
    return static_cast<ssize_t>(n);
  }
};

H2ServerSession::H2ServerSession(const Http2Settings& settings, uint32_t maxHeaderListBytes,
                                 Events& events)
    : settings_(settings),
      maxHeaderListBytes_(maxHeaderListBytes),
      events_(events),
      controlBudget_(kControlBurst) {}

H2ServerSession::~H2ServerSession() = default;

bool H2ServerSession::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, &H2ServerCallbacks::onBeginFrame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &H2ServerCallbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2ServerCallbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &H2ServerCallbacks::onFrameReceived);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks,
                                                               &H2ServerCallbacks::onInvalidFrame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2ServerCallbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2ServerCallbacks::onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &H2ServerCallbacks::onFrameSent);
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(callbacks);
    return false;
  }
  // The window reopens as the backend takes the body, not as it arrives.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  // nghttp2's flood limits, spelled out (they are its defaults where it has them).
  setFloodLimits(option);
#ifdef READYGATE_NGHTTP2_STREAM_RESET_RATE_LIMIT
  nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
#endif
  nghttp2_session* raw = nullptr;
  int rv = nghttp2_session_server_new2(&raw, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  session_.reset(raw);
  nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, static_cast<uint32_t>(settings_.maxConcurrentStreams)},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(settings_.initialStreamWindowBytes)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, maxHeaderListBytes_},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, entries, std::size(entries)) != 0) return false;
  // The connection's window beyond the 65,535 bytes every connection starts with.
  return nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0,
                                               settings_.initialConnectionWindowBytes) == 0;
}

bool H2ServerSession::receive(std::string_view bytes, double now) {
  now_ = now;
  if (terminated_) return false;
  ssize_t used = nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size());
  if (used < 0) {
    if (*failure_ == '\0') failure_ = nghttp2_strerror(static_cast<int>(used));
    // A bad preface, a flood nghttp2 caught, or a connection error: GOAWAY is queued
    // when there is one to say (not for a client that never spoke HTTP/2).
    if (used != NGHTTP2_ERR_BAD_CLIENT_MAGIC && !terminated_) {
      ++counters_.framesRefused;
      terminate(used == NGHTTP2_ERR_FLOODED ? kH2EnhanceYourCalm : kH2ProtocolError);
    }
    terminated_ = true;
    return false;
  }
  // nghttp2 may have ended the connection itself (a connection error it answered with
  // GOAWAY): it then wants nothing more read.
  return !terminated_ && nghttp2_session_want_read(session_.get()) != 0;
}

std::string_view H2ServerSession::nextOutput() { return readygate::nextOutput(session_.get()); }

bool H2ServerSession::finished() const { return sessionFinished(session_.get()); }

H2ServerSession::Stream* H2ServerSession::find(int32_t stream) {
  auto found = streams_.find(stream);
  return found == streams_.end() ? nullptr : &found->second;
}

const H2ServerSession::Stream* H2ServerSession::find(int32_t stream) const {
  auto found = streams_.find(stream);
  return found == streams_.end() ? nullptr : &found->second;
}

void H2ServerSession::glitch(uint64_t count) {
  counters_.glitches += count;
  glitchesSeen_ += count;
  if (glitchesSeen_ > static_cast<uint64_t>(settings_.glitchThreshold) && !terminated_) {
    failure_ = "glitch_threshold";
    terminate(kH2EnhanceYourCalm);
  }
}

void H2ServerSession::controlFrame() {
  if (controlBudgetAt_ >= 0) {
    controlBudget_ = std::min(kControlBurst, controlBudget_ + (now_ - controlBudgetAt_) * kControlPerSecond);
  }
  controlBudgetAt_ = now_;
  if (controlBudget_ >= 1) {
    controlBudget_ -= 1;
    return;
  }
  glitch();  // a flood: each one past the budget counts
}

void H2ServerSession::refuse(int32_t stream, Stream& state, std::string_view reason,
                             uint32_t code) {
  if (state.refused) return;
  bool delivered = state.headSeen;
  state.refused = true;
  state.localReset = false;  // every refusal here answers something the client sent
  state.fields.clear();
  ++counters_.framesRefused;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream, code);
  events_.onStreamRefused(stream, reason, delivered);
}

void H2ServerSession::headersDone(int32_t stream, Stream& state, bool endStream) {
  if (state.refused) return;
  if (state.headSeen) {
    // Trailers: END_STREAM must come with them (RFC 9113 §8.1; nghttp2 checks it too).
    std::string trailers;
    if (!endStream || !appendTrailers(trailers, state.fields)) {
      refuse(stream, state, "trailers");
      return;
    }
    state.fields.clear();
    if (state.hasContentLength && state.received != state.contentLength) {
      refuse(stream, state, "content_length_mismatch");
      return;
    }
    state.requestEnded = true;
    events_.onRequestEnd(stream, trailers);
    return;
  }
  auto translated = translateH2Request(std::move(state.fields), endStream);
  state.fields = {};
  if (H2StreamError* error = std::get_if<H2StreamError>(&translated)) {
    refuse(stream, state, error->reason);
    return;
  }
  MessageHead& head = std::get<MessageHead>(translated);
  state.headSeen = true;
  state.hasContentLength = head.contentLength.has_value();
  state.contentLength = head.contentLength.value_or(0);
  if (endStream && state.hasContentLength && state.contentLength != 0) {
    // A length announced and no body sent: malformed too (RFC 9113 §8.1.1).
    state.headSeen = false;
    refuse(stream, state, "content_length_mismatch");
    return;
  }
  state.requestEnded = endStream;
  events_.onRequestHead(stream, head, endStream);
  if (endStream) {
    Stream* still = find(stream);  // the head's handler may have answered and closed it
    if (still != nullptr && still->headSeen) events_.onRequestEnd(stream, {});
  }
}

void H2ServerSession::submitResponse(int32_t stream, const MessageHead& response, bool hasBody,
                                     const std::vector<HeaderField>& extra, bool via) {
  Stream* state = find(stream);
  if (state == nullptr) return;
  thread_local std::vector<HeaderField> fields;
  thread_local std::vector<nghttp2_nv> nva;
  responseFieldsForH2(fields, response, via);
  char status[4];
  int code = std::clamp(response.status, 100, 999);
  status[0] = static_cast<char>('0' + code / 100);
  status[1] = static_cast<char>('0' + code / 10 % 10);
  status[2] = static_cast<char>('0' + code % 10);
  nva.clear();
  nva.push_back(nghttp2Field(":status", std::string_view(status, 3)));
  for (const HeaderField& f : fields) nva.push_back(nghttp2Field(f.name, f.value));
  for (const HeaderField& f : extra) nva.push_back(nghttp2Field(f.name, f.value));
  state->bodyEnded = !hasBody;
  nghttp2_data_provider provider{};
  provider.read_callback = &H2ServerCallbacks::readBody;
  nghttp2_submit_response(session_.get(), stream, nva.data(), nva.size(),
                          hasBody ? &provider : nullptr);
}

void H2ServerSession::submitInterim(int32_t stream, int status) {
  if (find(stream) == nullptr || status < 100 || status > 199) return;
  std::string text = std::to_string(status);
  nghttp2_nv nv = nghttp2Field(":status", text);
  nghttp2_submit_headers(session_.get(), NGHTTP2_FLAG_NONE, stream, nullptr, &nv, 1, nullptr);
}

void H2ServerSession::bodyTaken(size_t bytes) {
  queuedTotal_ -= std::min(bytes, queuedTotal_);
  if (connectionDrainMark_ != SIZE_MAX && queuedTotal_ <= connectionDrainMark_) {
    connectionDrainMark_ = SIZE_MAX;
    events_.onConnectionDrained();
  }
}

void H2ServerSession::sendBody(int32_t stream, std::string_view data) {
  Stream* state = find(stream);
  if (state == nullptr || data.empty()) return;
  state->body.append(data);
  queuedTotal_ += data.size();
  resume(stream, *state);
}

void H2ServerSession::endBody(int32_t stream, const std::vector<HeaderField>& trailers) {
  Stream* state = find(stream);
  if (state == nullptr) return;
  state->bodyEnded = true;
  state->trailers = trailers;
  resume(stream, *state);
}

void H2ServerSession::endWithTrailers(int32_t stream, Stream& state, uint32_t* flags) {
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (state.trailers.empty()) return;
  thread_local std::vector<nghttp2_nv> nva;
  nva.clear();
  for (const HeaderField& f : state.trailers) {
    // Fields that frame or route a message have no place after its body.
    if (f.name.empty() || f.name.front() == ':' || f.name == "content-length" ||
        f.name == "transfer-encoding" || f.name == "connection" || f.name == "te" ||
        f.name == "host" || f.name == "trailer") {
      continue;
    }
    nva.push_back(nghttp2Field(f.name, f.value));
  }
  if (!nva.empty() && nghttp2_submit_trailer(session_.get(), stream, nva.data(), nva.size()) == 0) {
    *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;  // the trailers end it
  }
  state.trailers.clear();
}

void H2ServerSession::resume(int32_t stream, Stream& state) {
  if (!state.bodyDeferred) return;
  state.bodyDeferred = false;
  nghttp2_session_resume_data(session_.get(), stream);
}

size_t H2ServerSession::queuedBody(int32_t stream) const {
  const Stream* state = find(stream);
  return state == nullptr ? 0 : state->body.size();
}

void H2ServerSession::setDrainMark(int32_t stream, size_t bytes) {
  if (Stream* state = find(stream)) state->drainMark = bytes;
}

void H2ServerSession::resetStream(int32_t stream, uint32_t code, bool clientsFault) {
  Stream* state = find(stream);
  if (state != nullptr) state->localReset = !clientsFault;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream, code);
}

void H2ServerSession::consume(int32_t stream, size_t bytes) {
  Stream* state = find(stream);
  if (state == nullptr || bytes == 0) return;
  bytes = std::min<uint64_t>(bytes, state->unconsumed);
  state->unconsumed -= bytes;
  nghttp2_session_consume(session_.get(), stream, bytes);
}

void H2ServerSession::beginGracefulClose() {
  if (gracefulBegun_ || terminated_) return;
  gracefulBegun_ = true;
  nghttp2_submit_shutdown_notice(session_.get());
  nghttp2_submit_ping(session_.get(), NGHTTP2_FLAG_NONE, kGracefulPing);
}

void H2ServerSession::finishGracefulClose() {
  if (gracefulFinished_ || terminated_) return;
  gracefulBegun_ = true;
  gracefulFinished_ = true;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void H2ServerSession::terminate(uint32_t code) {
  if (terminated_) return;
  terminated_ = true;
  nghttp2_session_terminate_session(session_.get(), code);
}

}  // namespace readygate
