// H2ServerSession against nghttp2's own client session and hand-made frames, in memory: the
// request and response paths, flow control, the rules that reset a stream, floods, and the
// two-step GOAWAY.
#include "proxy/http/h2_server_session.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <string>
#include <vector>

namespace readygate {
namespace {

/// What the server side reported.
struct Recorder : H2ServerSession::Events {
  struct Request {
    MessageHead head;
    std::string body;
    bool ended = false;
    std::string trailers;
    bool closed = false;
    uint32_t closeCode = 0;
  };
  std::map<int32_t, Request> requests;
  std::vector<std::string> refusals;
  std::vector<int32_t> drained;
  H2ServerSession* session = nullptr;  // not owned
  bool autoConsume = true;

  void onRequestHead(int32_t stream, MessageHead& head, bool) override {
    requests[stream].head = std::move(head);
  }
  void onRequestData(int32_t stream, std::string_view data) override {
    requests[stream].body.append(data);
    if (autoConsume) session->consume(stream, data.size());
  }
  void onRequestEnd(int32_t stream, std::string_view trailers) override {
    requests[stream].ended = true;
    requests[stream].trailers = trailers;
  }
  void onStreamClosed(int32_t stream, uint32_t code) override {
    requests[stream].closed = true;
    requests[stream].closeCode = code;
  }
  void onResponseDrained(int32_t stream) override { drained.push_back(stream); }
  void onStreamRefused(int32_t, std::string_view reason, bool) override {
    refusals.emplace_back(reason);
  }
  void onConnectionDrained() override { ++connectionDrained; }
  int connectionDrained = 0;
};

/// nghttp2's client, recording what came back per stream.
class Client {
 public:
  struct Response {
    std::map<std::string, std::string> fields;
    std::string body;
    bool ended = false;
    uint32_t resetCode = UINT32_MAX;  // none
  };
  std::map<int32_t, Response> responses;
  std::vector<std::pair<int32_t, uint32_t>> goaways;  // last stream id, code
  int pingsReceived = 0;
  bool consumeAutomatically = true;

  explicit Client(uint32_t initialWindow = 65535) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t nl,
               const uint8_t* value, size_t vl, uint8_t, void* self) {
          static_cast<Client*>(self)->responses[frame->hd.stream_id].fields[std::string(
              reinterpret_cast<const char*>(name), nl)] =
              std::string(reinterpret_cast<const char*>(value), vl);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* self) {
          static_cast<Client*>(self)->responses[id].body.append(reinterpret_cast<const char*>(data),
                                                                len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* frame, void* self) {
          auto* client = static_cast<Client*>(self);
          if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            client->responses[frame->hd.stream_id].ended = true;
          }
          if (frame->hd.type == NGHTTP2_RST_STREAM) {
            client->responses[frame->hd.stream_id].resetCode = frame->rst_stream.error_code;
          }
          if (frame->hd.type == NGHTTP2_GOAWAY) {
            client->goaways.emplace_back(frame->goaway.last_stream_id, frame->goaway.error_code);
          }
          if (frame->hd.type == NGHTTP2_PING && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
            ++client->pingsReceived;
          }
          return 0;
        });
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    nghttp2_option_set_no_http_messaging(option, 1);  // so it sends what the tests ask
    nghttp2_session_client_new2(&session_, cb, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry entries[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, initialWindow}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, 1);
  }
  ~Client() { nghttp2_session_del(session_); }
  nghttp2_session* session() { return session_; }

  int32_t request(std::vector<std::pair<std::string, std::string>> fields,
                  const std::string* body = nullptr) {
    std::vector<nghttp2_nv> nva;
    for (auto& [name, value] : fields) {
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(name.data()),
                               reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                               NGHTTP2_NV_FLAG_NONE});
    }
    if (body == nullptr) {
      return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr, nullptr);
    }
    bodyToSend_ = *body;
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
      auto* client = static_cast<Client*>(source->ptr);
      size_t n = std::min(length, client->bodyToSend_.size());
      memcpy(buf, client->bodyToSend_.data(), n);
      client->bodyToSend_.erase(0, n);
      if (client->bodyToSend_.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, nullptr);
  }

  std::string output() {
    std::string out;
    const uint8_t* data = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return out;
  }
  void input(std::string_view bytes) {
    nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }

 private:
  nghttp2_session* session_ = nullptr;
  std::string bodyToSend_;
};

std::vector<std::pair<std::string, std::string>> get(std::string path = "/") {
  return {{":method", "GET"}, {":scheme", "https"}, {":path", path}, {":authority", "a.example"}};
}

/// One frame's bytes (RFC 9113 §4.1).
std::string frame(uint8_t type, uint8_t flags, int32_t stream, std::string_view payload) {
  std::string out;
  size_t length = payload.size();
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>((stream >> 24) & 0x7f));
  out.push_back(static_cast<char>(stream >> 16));
  out.push_back(static_cast<char>(stream >> 8));
  out.push_back(static_cast<char>(stream));
  out.append(payload);
  return out;
}

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The server, the recorder and a pump between them and a client.
struct Fixture : ::testing::Test {
  Http2Settings settings;
  Recorder recorder;
  std::unique_ptr<H2ServerSession> server;
  double now = 100;
  bool alive = true;

  void startServer() {
    server = std::make_unique<H2ServerSession>(settings, 16384, recorder);
    recorder.session = server.get();
    ASSERT_TRUE(server->start());
  }
  std::string serverOutput() {
    std::string out;
    for (std::string_view piece = server->nextOutput(); !piece.empty(); piece = server->nextOutput()) {
      out.append(piece);
    }
    return out;
  }
  /// Moves bytes both ways until neither side has more to say.
  void pump(Client& client) {
    for (int round = 0; round < 50; ++round) {
      std::string toServer = client.output();
      if (!toServer.empty() && alive) alive = server->receive(toServer, now);
      std::string toClient = serverOutput();
      if (!toClient.empty()) client.input(toClient);
      if (toServer.empty() && toClient.empty()) return;
    }
  }
  /// Raw bytes to the server (a client that breaks the rules); what it answered.
  std::string raw(std::string_view bytes) {
    if (alive) alive = server->receive(bytes, now);
    std::string out = serverOutput();
    if (server->finished()) alive = false;  // a GOAWAY nghttp2 sent by itself
    return out;
  }
};

TEST_F(Fixture, ARequestComesOutTranslatedAndItsResponseGoesBack) {
  startServer();
  Client client;
  int32_t id = client.request(get("/hello"));
  pump(client);
  ASSERT_EQ(recorder.requests.count(id), 1u);
  const Recorder::Request& request = recorder.requests[id];
  EXPECT_EQ(request.head.method, "GET");
  EXPECT_EQ(request.head.target, "/hello");
  EXPECT_EQ(request.head.headers.at(0).value, "a.example");
  EXPECT_TRUE(request.ended);
  EXPECT_FALSE(server->settingsAckPending());  // the client acknowledged our SETTINGS

  MessageHead response;
  response.status = 200;
  response.headers = {{"Content-Type", "text/plain"}, {"Connection", "keep-alive, X-Hop"},
                      {"X-Hop", "secret"}, {"Keep-Alive", "timeout=5"},
                      {"Transfer-Encoding", "chunked"}};
  response.chunked = true;
  server->submitResponse(id, response, true, {{"strict-transport-security", "max-age=60"}});
  server->sendBody(id, "hello ");
  server->sendBody(id, "world");
  server->endBody(id);
  pump(client);
  Client::Response& got = client.responses[id];
  EXPECT_EQ(got.fields[":status"], "200");
  EXPECT_EQ(got.fields["content-type"], "text/plain");
  EXPECT_EQ(got.fields["strict-transport-security"], "max-age=60");
  EXPECT_EQ(got.fields.count("connection"), 0u);
  EXPECT_EQ(got.fields.count("x-hop"), 0u);  // named by Connection: this hop's only
  EXPECT_EQ(got.fields.count("keep-alive"), 0u);
  EXPECT_EQ(got.fields.count("transfer-encoding"), 0u);
  EXPECT_EQ(got.body, "hello world");
  EXPECT_TRUE(got.ended);
  EXPECT_TRUE(recorder.requests[id].closed);
  EXPECT_EQ(recorder.requests[id].closeCode, 0u);
  EXPECT_EQ(server->openStreams(), 0u);
}

TEST_F(Fixture, ABodyAndItsTrailersArriveAndTheWindowReopensOnlyWhenConsumed) {
  startServer();
  recorder.autoConsume = false;
  Client client;
  std::string body(100000, 'x');  // more than the 65,536-byte stream window
  auto fields = get("/upload");
  fields[0].second = "POST";
  int32_t id = client.request(fields, &body);
  pump(client);
  // Only one window's worth came: the rest waits for consume().
  EXPECT_EQ(recorder.requests[id].body.size(), static_cast<size_t>(settings.initialStreamWindowBytes));
  EXPECT_FALSE(recorder.requests[id].ended);
  server->consume(id, recorder.requests[id].body.size());
  pump(client);
  EXPECT_EQ(recorder.requests[id].body.size(), body.size());
  EXPECT_TRUE(recorder.requests[id].ended);
  EXPECT_TRUE(recorder.requests[id].head.chunked);  // no length given: chunked upstream

}

/// A server and an HPACK encoder for hand-made requests.
struct RawFixture : Fixture {
  nghttp2_hd_deflater* deflater = nullptr;
  void SetUp() override {
    startServer();
    nghttp2_hd_deflate_new(&deflater, 4096);
    raw(kPreface + frame(NGHTTP2_SETTINGS, 0, 0, ""));
  }
  void TearDown() override { nghttp2_hd_deflate_del(deflater); }
  std::string block(std::vector<std::pair<std::string, std::string>> list) {
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : list) {
      nv.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                              n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater, nv.data(), nv.size()), '\0');
    ssize_t n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                      nv.data(), nv.size());
    out.resize(static_cast<size_t>(n));
    return out;
  }
  std::string headers(int32_t stream, std::vector<std::pair<std::string, std::string>> list,
                      bool endStream = true) {
    return frame(NGHTTP2_HEADERS,
                 NGHTTP2_FLAG_END_HEADERS | (endStream ? NGHTTP2_FLAG_END_STREAM : 0), stream,
                 block(std::move(list)));
  }
  /// The RST_STREAM code the server sent for `stream` in `output`, or -1.
  static int64_t resetCode(std::string_view output, int32_t stream) {
    while (output.size() >= 9) {
      size_t length = (static_cast<uint8_t>(output[0]) << 16) | (static_cast<uint8_t>(output[1]) << 8) |
                      static_cast<uint8_t>(output[2]);
      uint8_t type = static_cast<uint8_t>(output[3]);
      int32_t id = ((static_cast<uint8_t>(output[5]) & 0x7f) << 24) |
                   (static_cast<uint8_t>(output[6]) << 16) | (static_cast<uint8_t>(output[7]) << 8) |
                   static_cast<uint8_t>(output[8]);
      if (type == NGHTTP2_RST_STREAM && id == stream && length == 4) {
        return (static_cast<uint8_t>(output[9]) << 24) | (static_cast<uint8_t>(output[10]) << 16) |
               (static_cast<uint8_t>(output[11]) << 8) | static_cast<uint8_t>(output[12]);
      }
      output.remove_prefix(std::min(output.size(), 9 + length));
    }
    return -1;
  }
  /// The GOAWAY code in `output`, or -1.
  static int64_t goawayCode(std::string_view output) {
    while (output.size() >= 9) {
      size_t length = (static_cast<uint8_t>(output[0]) << 16) | (static_cast<uint8_t>(output[1]) << 8) |
                      static_cast<uint8_t>(output[2]);
      if (static_cast<uint8_t>(output[3]) == NGHTTP2_GOAWAY && length >= 8) {
        return (static_cast<uint8_t>(output[13]) << 24) | (static_cast<uint8_t>(output[14]) << 16) |
               (static_cast<uint8_t>(output[15]) << 8) | static_cast<uint8_t>(output[16]);
      }
      output.remove_prefix(std::min(output.size(), 9 + length));
    }
    return -1;
  }
};

TEST_F(RawFixture, TrailersAfterTheBodyArriveAsChunkedTrailerLines) {
  raw(headers(1, {{":method", "POST"}, {":scheme", "https"}, {":path", "/t"}, {":authority", "a"}},
              false) +
      frame(NGHTTP2_DATA, 0, 1, "abc") +
      headers(1, {{"x-checksum", "900150983cd24fb0"}, {"content-length", "3"}}));
  EXPECT_EQ(recorder.requests[1].body, "abc");
  EXPECT_TRUE(recorder.requests[1].ended);
  // A content-length among trailers means nothing after the body: dropped.
  EXPECT_EQ(recorder.requests[1].trailers, "x-checksum: 900150983cd24fb0\r\n");
  // Trailers without END_STREAM are malformed.
  std::string out = raw(headers(3, {{":method", "POST"}, {":scheme", "https"}, {":path", "/t"},
                                    {":authority", "a"}}, false) +
                        headers(3, {{"x-a", "1"}}, false));
  EXPECT_NE(resetCode(out, 3), -1);
  EXPECT_FALSE(recorder.requests[3].ended);
}

TEST_F(RawFixture, MalformedRequestsAreResetWithProtocolErrorAndReachNobody) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> fields;
    const char* what;
  };
  std::vector<Case> cases = {
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}}, "no :path"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"X-Up", "1"}},
       "uppercase name"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"host", "b"}},
       "Host disagrees with :authority"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"te", "gzip"}},
       "TE other than trailers"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"},
        {"transfer-encoding", "chunked"}},
       "connection-specific field"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"},
        {"x-a", "1\r\nx-b: 2"}},
       "CR LF in a value"},
      {{{":method", "GET"}, {":path", "/"}, {":scheme", "https"}, {"x-a", "1"}, {":authority", "a"}},
       "pseudo-header after a field"},
  };
  int32_t stream = 1;
  for (const Case& c : cases) {
    std::string out = raw(headers(stream, c.fields));
    EXPECT_EQ(resetCode(out, stream), NGHTTP2_PROTOCOL_ERROR) << c.what;
    EXPECT_EQ(recorder.requests.count(stream), 0u) << c.what << ": reached the backend side";
    stream += 2;
  }
  EXPECT_TRUE(alive);  // stream errors, not connection errors
  EXPECT_GE(server->counters().glitches, cases.size());
}

TEST_F(RawFixture, ABodyLongerOrShorterThanItsContentLengthIsAStreamError) {
  auto post = [](std::string length) {
    return std::vector<std::pair<std::string, std::string>>{
        {":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"},
        {"content-length", length}};
  };
  std::string out = raw(headers(1, post("3"), false) + frame(NGHTTP2_DATA, 0, 1, "abcdef"));
  EXPECT_EQ(resetCode(out, 1), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_NE(recorder.requests[1].body, "abcdef");  // never more than announced
  EXPECT_FALSE(recorder.requests[1].ended);

  out = raw(headers(3, post("10"), false) + frame(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 3, "abc"));
  EXPECT_EQ(resetCode(out, 3), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_FALSE(recorder.requests[3].ended);
  EXPECT_TRUE(alive);
}

TEST_F(RawFixture, DataAfterEndStreamIsAStreamClosedError) {
  raw(headers(1, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}));
  ASSERT_TRUE(recorder.requests[1].ended);
  std::string out = raw(frame(NGHTTP2_DATA, 0, 1, "late"));
  // RFC 9113 §5.1 asks for a stream error; nghttp2 makes it the connection's, as the
  // RFC allows. Either way with STREAM_CLOSED, and the bytes reach nobody.
  EXPECT_TRUE(resetCode(out, 1) == NGHTTP2_STREAM_CLOSED || goawayCode(out) == NGHTTP2_STREAM_CLOSED);
  EXPECT_EQ(recorder.requests[1].body, "");
}

TEST_F(RawFixture, AReusedStreamIdIsAConnectionError) {
  raw(headers(5, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}));
  std::string out =
      raw(headers(3, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}));
  EXPECT_EQ(goawayCode(out), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_EQ(recorder.requests.count(3), 0u);
  EXPECT_FALSE(alive);
}

TEST_F(RawFixture, AWindowUpdatePastTheMaximumIsAFlowControlError) {
  std::string increment = "\x7f\xff\xff\xff";
  std::string out = raw(frame(NGHTTP2_WINDOW_UPDATE, 0, 0, increment));
  EXPECT_EQ(goawayCode(out), NGHTTP2_FLOW_CONTROL_ERROR);
  EXPECT_FALSE(alive);
}

TEST_F(RawFixture, AHeaderListPastTheLimitIsRefused) {
  std::vector<std::pair<std::string, std::string>> big = {
      {":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}};
  // 17 fields of 1,000 bytes: past the 16,384-byte list, within one frame (Huffman coded).
  for (int i = 0; i < 17; ++i) big.emplace_back("x-" + std::to_string(i), std::string(1000, 'v'));
  std::string out = raw(headers(1, big));
  EXPECT_NE(resetCode(out, 1), -1);
  EXPECT_EQ(recorder.requests.count(1), 0u);
  ASSERT_FALSE(recorder.refusals.empty());
  EXPECT_EQ(recorder.refusals.back(), "header_list_too_large");
}

TEST_F(RawFixture, RapidResetGetsGoawayOnceTheGlitchesPassTheThreshold) {
  std::string burst;
  for (int32_t stream = 1; stream < 2 * 3000; stream += 2) {
    burst += headers(stream, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"},
                              {":authority", "a"}});
    burst += frame(NGHTTP2_RST_STREAM, 0, stream, std::string("\0\0\0\x08", 4));
  }
  std::string out = raw(burst);
  EXPECT_FALSE(alive);
  EXPECT_EQ(goawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_LT(recorder.requests.size(), 1200u);  // stopped near the threshold, not at 3000
}

TEST_F(RawFixture, MadeYouResetTheResetsAClientProvokesAreGlitchesToo) {
  // Each stream's window overflowed by the client: nghttp2 resets it (FLOW_CONTROL_ERROR),
  // a reset its own rate limit does not count. readygate counts it as it is decided (an
  // invalid frame) and again when the reset goes out, so a client that never reads cannot
  // keep it from counting.
  std::string burst;
  for (int32_t stream = 1; stream < 2 * 1500; stream += 2) {
    burst += headers(stream, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"},
                              {":authority", "a"}});
    burst += frame(NGHTTP2_WINDOW_UPDATE, 0, stream, std::string("\x7f\xff\xff\xff", 4));
  }
  std::string out = raw(burst);
  EXPECT_FALSE(alive);
  EXPECT_EQ(goawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_GT(server->counters().glitches, static_cast<uint64_t>(settings.glitchThreshold));
  EXPECT_LT(recorder.requests.size(), 1100u);  // stopped at the threshold, not at 1500
}

TEST_F(RawFixture, ResetsReadygateSendsForItsOwnReasonsAreNoGlitches) {
  for (int32_t stream = 1; stream < 2 * 50; stream += 2) {
    raw(headers(stream, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"},
                         {":authority", "a"}}));
    server->resetStream(stream, NGHTTP2_INTERNAL_ERROR, false);  // a backend that failed
  }
  raw("");
  EXPECT_EQ(server->counters().resetsSent[NGHTTP2_INTERNAL_ERROR], 50u);
  EXPECT_EQ(server->counters().glitches, 0u);
}

TEST_F(RawFixture, APingFloodPastItsBudgetGetsGoaway) {
  std::string pings;
  for (int i = 0; i < 1200; ++i) pings += frame(NGHTTP2_PING, 0, 0, "12345678");
  std::string out = raw(pings);
  EXPECT_FALSE(alive);
  EXPECT_EQ(goawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(RawFixture, PingsAtAModestRateAreFree) {
  for (int i = 0; i < 3000; ++i) {
    now += 0.2;  // five a second, for ten minutes
    raw(frame(NGHTTP2_PING, 0, 0, "12345678"));
  }
  EXPECT_TRUE(alive);
  EXPECT_EQ(server->counters().glitches, 0u);
}

TEST_F(RawFixture, ASettingsAckIsAwaited) {
  EXPECT_TRUE(server->settingsAckPending());
  raw(frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, ""));
  EXPECT_FALSE(server->settingsAckPending());
}

TEST_F(Fixture, TheGracefulCloseAnnouncesThenNamesTheLastStreamAfterARoundTrip) {
  startServer();
  Client client;
  int32_t first = client.request(get("/a"));
  pump(client);
  ASSERT_TRUE(recorder.requests[first].ended);
  server->beginGracefulClose();
  // The notice and the PING go out together; the client's PING ACK brings the second step.
  pump(client);
  ASSERT_EQ(client.goaways.size(), 2u);
  EXPECT_EQ(client.goaways[0].first, (1u << 31) - 1);  // "soon": nothing refused yet
  EXPECT_EQ(client.goaways[1].first, first);
  EXPECT_EQ(client.goaways[1].second, 0u);
  EXPECT_TRUE(server->gracefulFinished());
  EXPECT_FALSE(server->finished());  // the open stream is still answered
  MessageHead response;
  response.status = 204;
  server->submitResponse(first, response, false);
  pump(client);
  EXPECT_EQ(client.responses[first].fields[":status"], "204");
  EXPECT_TRUE(server->finished());
}

TEST_F(Fixture, MaxStreamsPerConnectionBeginsTheGracefulClose) {
  settings.maxStreamsPerConnection = 2;
  startServer();
  Client client;
  client.request(get("/1"));
  pump(client);
  EXPECT_FALSE(server->closing());
  client.request(get("/2"));
  pump(client);
  EXPECT_TRUE(server->closing());
  EXPECT_FALSE(client.goaways.empty());
}

TEST_F(Fixture, AResponseWaitsForTheClientsWindowAndSaysWhenItDrained) {
  startServer();
  Client client(1024);  // a client that lets 1 KiB per stream through unread
  int32_t id = client.request(get("/big"));
  pump(client);
  MessageHead response;
  response.status = 200;
  server->submitResponse(id, response, true);
  server->sendBody(id, std::string(10000, 'b'));
  server->setDrainMark(id, 4000);
  pump(client);
  // nghttp2's client consumes what it is given, so the window reopens as it reads; the
  // queue drains and the mark is reported once.
  EXPECT_EQ(client.responses[id].body.size(), 10000u);
  ASSERT_EQ(recorder.drained.size(), 1u);
  EXPECT_EQ(server->queuedBody(id), 0u);
}

TEST_F(Fixture, TheConnectionCountsEveryStreamsQueuedResponseAndSaysWhenItCameDown) {
  startServer();
  Client client(1024);
  int32_t a = client.request(get("/a"));
  int32_t b = client.request(get("/b"));
  pump(client);
  MessageHead response;
  response.status = 200;
  for (int32_t id : {a, b}) {
    server->submitResponse(id, response, true);
    server->sendBody(id, std::string(5000, 'q'));
  }
  EXPECT_EQ(server->queuedBodyTotal(), 10000u);
  server->setConnectionDrainMark(2000);
  pump(client);  // the client reads, its windows reopen, both queues empty
  EXPECT_EQ(server->queuedBodyTotal(), 0u);
  EXPECT_EQ(recorder.connectionDrained, 1);
  // A reset stream's unsent response leaves the count too.
  int32_t c = client.request(get("/c"));
  pump(client);
  server->submitResponse(c, response, true);
  server->sendBody(c, std::string(3000, 'q'));
  server->resetStream(c, NGHTTP2_CANCEL, false);
  pump(client);
  EXPECT_EQ(server->queuedBodyTotal(), 0u);
}

TEST_F(Fixture, AResponseToARequestStillSendingResetsTheRestWithNoError) {
  startServer();
  recorder.autoConsume = true;
  Client client;
  std::string body(200000, 'u');
  auto fields = get("/early");
  fields[0].second = "PUT";
  int32_t id = client.request(fields, &body);
  std::string first = client.output();
  alive = server->receive(first.substr(0, 200), now);  // just the head and a little body
  MessageHead response;
  response.status = 413;
  server->submitResponse(id, response, false);
  client.input(serverOutput());
  pump(client);
  EXPECT_EQ(client.responses[id].fields[":status"], "413");
  EXPECT_EQ(client.responses[id].resetCode, NGHTTP2_NO_ERROR);
  EXPECT_EQ(server->counters().glitches, 0u);  // our own choice, not the client's fault
}

}  // namespace
}  // namespace readygate
