// H2ClientSession implementation: an nghttp2 client session with in-memory I/O.
#include "proxy/http/h2_client_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace readygate {
namespace {

/// The response head nghttp2 already checked (pseudo-headers, content-length, names) as
/// the MessageHead the exchange reads; false without a usable :status.
bool toResponseHead(std::vector<HeaderField>& fields, MessageHead& head) {
  head.status = 0;
  head.headers.clear();
  head.contentLength.reset();
  head.chunked = false;
  head.keepAlive = true;
  head.upgrade = false;
  for (HeaderField& f : fields) {
    if (f.name == ":status") {
      int status = 0;
      auto [end, error] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), status);
      if (error != std::errc() || end != f.value.data() + f.value.size()) return false;
      head.status = status;
      continue;
    }
    if (!f.name.empty() && f.name.front() == ':') continue;
    if (f.name == "content-length") {
      uint64_t length = 0;
      auto [end, error] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), length);
      if (error == std::errc() && end == f.value.data() + f.value.size()) head.contentLength = length;
    }
    head.headers.push_back(std::move(f));
  }
  return head.status >= 100 && head.status <= 999;
}

}  // namespace

/// The nghttp2 callbacks, each a thin step into the session object.
struct H2ClientCallbacks {
  static H2ClientSession& self(void* data) { return *static_cast<H2ClientSession*>(data); }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* data) {
    if (H2ClientSession::Stream* stream = self(data).find(frame->hd.stream_id)) {
      stream->fields.clear();
      stream->headerBytes = 0;
    }
    return 0;
  }

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t,
                      void* data) {
    H2ClientSession& s = self(data);
    H2ClientSession::Stream* stream = s.find(frame->hd.stream_id);
    if (stream == nullptr || stream->tooLarge) return 0;
    if (!keepField(stream->fields, stream->headerBytes, s.limits_.maxHeaderListBytes, name,
                   nameLength, value, valueLength)) {
      stream->tooLarge = true;
      stream->fields.clear();
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                NGHTTP2_INTERNAL_ERROR);
    }
    return 0;
  }

  static int onFrameReceived(nghttp2_session*, const nghttp2_frame* frame, void* data) {
    H2ClientSession& s = self(data);
    int32_t id = frame->hd.stream_id;
    bool endStream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (H2ClientSession::Stream* stream = s.find(id)) s.headersDone(id, *stream, endStream);
        break;
      case NGHTTP2_DATA:
        if (endStream) {
          H2ClientSession::Stream* stream = s.find(id);
          if (stream != nullptr && stream->finalHeadSeen && !stream->tooLarge) {
            stream->responseEnded = true;
            std::vector<HeaderField> none;
            s.events_.onResponseEnd(id, none);
          }
        }
        break;
      case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) s.settingsReceived_ = true;
        break;
      case NGHTTP2_GOAWAY:
        ++s.counters_.goawaysReceived;
        s.goawayReceived_ = true;
        break;
      default:
        break;
    }
    return 0;
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* bytes,
                         size_t length, void* data) {
    H2ClientSession& s = self(data);
    H2ClientSession::Stream* stream = s.find(id);
    if (stream == nullptr || !stream->finalHeadSeen || stream->tooLarge) {
      nghttp2_session_consume(session, id, length);  // nobody takes it: the window reopens
      return 0;
    }
    stream->unconsumed += length;
    s.events_.onResponseData(id, std::string_view(reinterpret_cast<const char*>(bytes), length));
    return 0;
  }

  static int onFrameNotSent(nghttp2_session*, const nghttp2_frame* frame, int, void* data) {
    // A request HEADERS that never left (a GOAWAY came first): the backend never saw it.
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (H2ClientSession::Stream* stream = self(data).find(frame->hd.stream_id)) {
        stream->neverSent = true;
      }
    }
    return 0;
  }

  /// nghttp2's words for a connection error it handles itself (a GOAWAY queued).
  static int onError(nghttp2_session*, int, const char* message, size_t length, void* data) {
    H2ClientSession& s = self(data);
    if (s.failure_.empty()) s.failure_.assign(message, length);
    return 0;
  }

  static int onStreamClose(nghttp2_session* session, int32_t id, uint32_t code, void* data) {
    H2ClientSession& s = self(data);
    auto found = s.streams_.find(id);
    if (found == s.streams_.end()) return 0;
    if (found->second.unconsumed > 0) {
      nghttp2_session_consume_connection(session, found->second.unconsumed);
    }
    if (found->second.neverSent) code = NGHTTP2_REFUSED_STREAM;
    s.streams_.erase(found);
    if (code == NGHTTP2_REFUSED_STREAM) ++s.counters_.refusedStreams;
    s.events_.onStreamClosed(id, code);
    return 0;
  }

  static ssize_t readBody(nghttp2_session* session, int32_t id, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* data) {
    H2ClientSession& s = self(data);
    H2ClientSession::Stream* stream = s.find(id);
    if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t n = stream->body.take(buffer, length);
    size_t queued = stream->body.size();
    if (queued == 0 && stream->bodyEnded) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!stream->trailers.empty()) {
        thread_local std::vector<nghttp2_nv> nva;
        nva.clear();
        for (const HeaderField& f : stream->trailers) nva.push_back(nghttp2Field(f.name, f.value));
        if (nghttp2_submit_trailer(session, id, nva.data(), nva.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
        stream->trailers.clear();
      }
    } else if (n == 0) {
      stream->bodyDeferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    if (stream->drainMark != SIZE_MAX && queued <= stream->drainMark) {
      stream->drainMark = SIZE_MAX;
      s.events_.onRequestDrained(id);
    }
    return static_cast<ssize_t>(n);
  }
};

H2ClientSession::H2ClientSession(const Limits& limits, Events& events)
    : limits_(limits), events_(events) {}

H2ClientSession::~H2ClientSession() = default;

bool H2ClientSession::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &H2ClientCallbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2ClientCallbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &H2ClientCallbacks::onFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2ClientCallbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, &H2ClientCallbacks::onFrameNotSent);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2ClientCallbacks::onStreamClose);
  nghttp2_session_callbacks_set_error_callback2(callbacks, &H2ClientCallbacks::onError);
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(callbacks);
    return false;
  }
  // A response's window reopens as the client takes it, not as it arrives.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  setFloodLimits(option);
  nghttp2_session* raw = nullptr;
  int rv = nghttp2_session_client_new2(&raw, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  session_.reset(raw);
  nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.streamWindowBytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.maxHeaderListBytes},
  };
  if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, entries, std::size(entries)) != 0) return false;
  return nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0,
                                               static_cast<int32_t>(limits_.connectionWindowBytes)) == 0;
}

bool H2ClientSession::receive(std::string_view bytes) {
  if (failed_) return false;
  ssize_t used = nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size());
  if (used < 0) {
    failed_ = true;
    if (failure_.empty()) failure_ = nghttp2_strerror(static_cast<int>(used));
    nghttp2_session_terminate_session(session_.get(), NGHTTP2_PROTOCOL_ERROR);
    return false;
  }
  if (nghttp2_session_want_read(session_.get()) == 0) {
    // A connection error nghttp2 answered with GOAWAY, or our GOAWAY with nothing open.
    failed_ = true;
    if (failure_.empty()) failure_ = shutdown_ ? "closed" : "connection error";
    return false;
  }
  return true;
}

std::string_view H2ClientSession::nextOutput() { return readygate::nextOutput(session_.get()); }

bool H2ClientSession::finished() const { return sessionFinished(session_.get()); }

H2ClientSession::Stream* H2ClientSession::find(int32_t stream) {
  auto found = streams_.find(stream);
  return found == streams_.end() ? nullptr : &found->second;
}

const H2ClientSession::Stream* H2ClientSession::find(int32_t stream) const {
  auto found = streams_.find(stream);
  return found == streams_.end() ? nullptr : &found->second;
}

uint32_t H2ClientSession::peerMaxStreams() const {
  uint32_t announced = nghttp2_session_get_remote_settings(session_.get(),
                                                           NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return settingsReceived_ ? announced : std::min(announced, assumedMaxStreams_);
}

bool H2ClientSession::hasRoom() const {
  // Client stream ids are odd and end at 2^31-1: a connection near the end takes no more.
  return !goawayReceived_ && !failed_ && !shutdown_ && failure_.empty() &&
         nghttp2_session_want_read(session_.get()) != 0 && streams_.size() < peerMaxStreams() &&
         nghttp2_session_get_next_stream_id(session_.get()) < (1u << 31) - 1024;
}

void H2ClientSession::headersDone(int32_t stream, Stream& state, bool endStream) {
  if (state.tooLarge) return;
  if (state.finalHeadSeen) {
    // Trailers (nghttp2 requires END_STREAM with them).
    state.responseEnded = true;
    std::vector<HeaderField> trailers = std::move(state.fields);
    state.fields.clear();
    events_.onResponseEnd(stream, trailers);
    return;
  }
  thread_local MessageHead head;
  if (!toResponseHead(state.fields, head)) {
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  state.fields.clear();
  if (head.status < 200) {
    events_.onResponseHead(stream, head, false);  // interim: the real head follows
    return;
  }
  state.finalHeadSeen = true;
  state.responseEnded = endStream;
  events_.onResponseHead(stream, head, endStream);
  if (endStream && find(stream) != nullptr) {
    std::vector<HeaderField> none;
    events_.onResponseEnd(stream, none);
  }
}

int32_t H2ClientSession::submitRequest(const std::vector<HeaderField>& fields, bool endStream) {
  if (!hasRoom()) return 0;
  thread_local std::vector<nghttp2_nv> nva;
  nva.clear();
  for (const HeaderField& f : fields) nva.push_back(nghttp2Field(f.name, f.value));
  nghttp2_data_provider provider{};
  provider.read_callback = &H2ClientCallbacks::readBody;
  int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(),
                                      endStream ? nullptr : &provider, nullptr);
  if (id <= 0) return 0;
  Stream& stream = streams_[id];
  stream.bodyEnded = endStream;
  return id;
}

void H2ClientSession::sendBody(int32_t stream, std::string_view data) {
  Stream* state = find(stream);
  if (state == nullptr || data.empty() || state->bodyEnded) return;
  state->body.append(data);
  resume(stream, *state);
}

void H2ClientSession::endRequest(int32_t stream, std::vector<HeaderField> trailers) {
  Stream* state = find(stream);
  if (state == nullptr || state->bodyEnded) return;
  state->bodyEnded = true;
  state->trailers = std::move(trailers);
  resume(stream, *state);
}

void H2ClientSession::resume(int32_t stream, Stream& state) {
  if (!state.bodyDeferred) return;
  state.bodyDeferred = false;
  nghttp2_session_resume_data(session_.get(), stream);
}

size_t H2ClientSession::queuedBody(int32_t stream) const {
  const Stream* state = find(stream);
  return state == nullptr ? 0 : state->body.size();
}

void H2ClientSession::setDrainMark(int32_t stream, size_t bytes) {
  if (Stream* state = find(stream)) state->drainMark = bytes;
}

void H2ClientSession::consume(int32_t stream, size_t bytes) {
  Stream* state = find(stream);
  if (state == nullptr || bytes == 0) return;
  bytes = std::min<uint64_t>(bytes, state->unconsumed);
  state->unconsumed -= bytes;
  nghttp2_session_consume(session_.get(), stream, bytes);
}

void H2ClientSession::resetStream(int32_t stream, uint32_t code) {
  if (find(stream) == nullptr) return;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream, code);
}

void H2ClientSession::release(int32_t stream) {
  Stream* state = find(stream);
  if (state == nullptr) return;
  if (!state->responseEnded) {
    resetStream(stream, NGHTTP2_CANCEL);
  } else if (!state->bodyEnded) {
    resetStream(stream, NGHTTP2_NO_ERROR);
  }
}

void H2ClientSession::shutdown() {
  if (shutdown_ || failed_) return;
  shutdown_ = true;
  // Our last stream id in a client's GOAWAY names pushed streams (none): 0.
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
}

}  // namespace readygate
