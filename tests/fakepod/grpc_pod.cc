// GrpcPod implementation: one nghttp2 server session per connection; each connection
// frees itself when the peer goes. Written apart from readygate's codec on purpose, so the
// test pod is an independent reading of the wire format.
#include "tests/fakepod/grpc_pod.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <cstring>
#include <iostream>
#include <map>
#include <string>

namespace fakepod {
namespace {

constexpr char kCheckPath[] = "/grpc.health.v1.Health/Check";

struct Stream {
  std::string path;
  std::string body;
  std::string response;  // framed message to send
  size_t sent = 0;
  std::string status;  // grpc-status for the trailers
};

class Connection {
 public:
  Connection(event_base* base, evutil_socket_t fd, std::string podName, SSL_CTX* tls)
      : podName_(std::move(podName)) {
    bev_ = tls != nullptr
               ? bufferevent_openssl_socket_new(base, fd, SSL_new(tls), BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE)
               : bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    nghttp2_session_callbacks* callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_send_callback(callbacks, &Connection::onSend);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Connection::onBegin);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &Connection::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Connection::onData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Connection::onFrame);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Connection::onClose);
    nghttp2_session_server_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    bufferevent_setcb(bev_, &Connection::onRead, nullptr, &Connection::onEvent, this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
    flush();
  }

  ~Connection() {
    nghttp2_session_del(session_);
    bufferevent_free(bev_);
  }

 private:
  void flush() {
    if (nghttp2_session_send(session_) != 0) delete this;
  }

  static void onRead(bufferevent* bev, void* self) {
    auto* connection = static_cast<Connection*>(self);
    evbuffer* input = bufferevent_get_input(bev);
    size_t length = evbuffer_get_length(input);
    const uint8_t* data = evbuffer_pullup(input, static_cast<ev_ssize_t>(length));
    ssize_t used = nghttp2_session_mem_recv(connection->session_, data, length);
    if (used < 0) {
      delete connection;  // not HTTP/2: close
      return;
    }
    evbuffer_drain(input, static_cast<size_t>(used));
    connection->flush();
  }

  static void onEvent(bufferevent*, short what, void* self) {
    if (what & BEV_EVENT_CONNECTED) return;  // the TLS handshake is done
    delete static_cast<Connection*>(self);
  }

  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t length, int, void* self) {
    bufferevent_write(static_cast<Connection*>(self)->bev_, data, length);
    return static_cast<ssize_t>(length);
  }

  static int onBegin(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    static_cast<Connection*>(self)->streams_[frame->hd.stream_id] = Stream{};
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t,
                      void* self) {
    auto* connection = static_cast<Connection*>(self);
    if (std::string(reinterpret_cast<const char*>(name), nameLength) == ":path") {
      connection->streams_[frame->hd.stream_id].path.assign(reinterpret_cast<const char*>(value),
                                                            valueLength);
    }
    return 0;
  }

  static int onData(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t length,
                    void* self) {
    static_cast<Connection*>(self)->streams_[stream].body.append(
        reinterpret_cast<const char*>(data), length);
    return 0;
  }

  static int onFrame(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
    auto* connection = static_cast<Connection*>(self);
    bool requestEnded = (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
                        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    if (requestEnded) connection->answer(session, frame->hd.stream_id);
    return 0;
  }

  static int onClose(nghttp2_session*, int32_t stream, uint32_t, void* self) {
    static_cast<Connection*>(self)->streams_.erase(stream);
    return 0;
  }

  /// The service named in a HealthCheckRequest: after the 5-byte gRPC prefix, field 1
  /// (tag 0A) with a one- or two-byte varint length.
  static std::string requestedService(const std::string& body) {
    if (body.size() < 7 || static_cast<uint8_t>(body[5]) != 0x0A) return "";
    size_t length = static_cast<uint8_t>(body[6]);
    size_t start = 7;
    if (length & 0x80) {
      if (body.size() < 8) return "";
      length = (length & 0x7F) | (static_cast<size_t>(static_cast<uint8_t>(body[7])) << 7);
      start = 8;
    }
    return body.substr(start, length);
  }

  void answer(nghttp2_session* session, int32_t id) {
    ++grpcRequests();
    Stream& stream = streams_[id];
    std::string service = requestedService(stream.body);
    if (stream.path != kCheckPath) {
      trailersOnly(session, id, "12");  // UNIMPLEMENTED
      return;
    }
    if (!service.empty() && service != podName_) {
      trailersOnly(session, id, "5");  // NOT_FOUND
      return;
    }
    stream.response = std::string("\x00\x00\x00\x00\x02\x08", 6);
    stream.response.push_back(static_cast<char>(grpcServingStatus()));
    stream.status = "0";
    nghttp2_nv headers[] = {pair(":status", "200"), pair("content-type", "application/grpc")};
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &Connection::readResponse;
    nghttp2_submit_response(session, id, headers, 2, &provider);
  }

  void trailersOnly(nghttp2_session* session, int32_t id, const char* status) {
    nghttp2_nv headers[] = {pair(":status", "200"), pair("content-type", "application/grpc"),
                            pair("grpc-status", status)};
    nghttp2_submit_response(session, id, headers, 3, nullptr);
  }

  static ssize_t readResponse(nghttp2_session* session, int32_t id, uint8_t* buffer, size_t length,
                              uint32_t* flags, nghttp2_data_source*, void* self) {
    Stream& stream = static_cast<Connection*>(self)->streams_[id];
    size_t now = std::min(length, stream.response.size() - stream.sent);
    memcpy(buffer, stream.response.data() + stream.sent, now);
    stream.sent += now;
    if (stream.sent == stream.response.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_nv trailers[] = {pair("grpc-status", stream.status.c_str())};
      nghttp2_submit_trailer(session, id, trailers, 1);
    }
    return static_cast<ssize_t>(now);
  }

  static nghttp2_nv pair(const char* name, const char* value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value)), strlen(name),
                      strlen(value), NGHTTP2_NV_FLAG_NONE};
  }

  std::string podName_;
  bufferevent* bev_ = nullptr;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
};

}  // namespace

long& grpcRequests() {
  static long count = 0;
  return count;
}

int& grpcServingStatus() {
  static int status = 1;  // SERVING
  return status;
}

GrpcPod::~GrpcPod() {
  if (listener_) evconnlistener_free(listener_);
  if (tls_) SSL_CTX_free(tls_);
}

bool GrpcPod::listen() {
  if (!options_.tlsCert.empty()) {
    tls_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(tls_, options_.tlsCert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, options_.tlsKey.c_str(), SSL_FILETYPE_PEM) != 1) {
      std::cerr << "fakepod: cannot load the TLS certificate or key" << std::endl;
      return false;
    }
    // h2 or nothing: a client that does not offer it gets no application protocol.
    SSL_CTX_set_alpn_select_cb(
        tls_,
        [](SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
           unsigned int inLength, void*) {
          unsigned char* chosen = nullptr;
          static const unsigned char kH2[] = {2, 'h', '2'};
          if (SSL_select_next_proto(&chosen, outLength, kH2, sizeof kH2, in, inLength) !=
              OPENSSL_NPN_NEGOTIATED) {
            return SSL_TLSEXT_ERR_NOACK;
          }
          *out = chosen;
          return SSL_TLSEXT_ERR_OK;
        },
        nullptr);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options_.grpcPort));
  inet_pton(AF_INET, options_.host.c_str(), &address.sin_addr);
  listener_ = evconnlistener_new_bind(base_, &GrpcPod::onAccept, this,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                      reinterpret_cast<sockaddr*>(&address), sizeof address);
  if (!listener_) {
    std::cerr << "fakepod: cannot listen for gRPC on port " << options_.grpcPort << std::endl;
    return false;
  }
  return true;
}

void GrpcPod::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) {
  auto* pod = static_cast<GrpcPod*>(self);
  new Connection(pod->base_, fd, pod->options_.name,
                 pod->tls_);  // deletes itself when the peer goes
}

}  // namespace fakepod
