// H2ClientSession against readygate's own H2ServerSession and hand-made frames, in memory:
// requests with bodies and trailers, responses with trailers and trailers-only, the streams a
// backend refused or left above its GOAWAY, and the backend's stream limit.
#include "proxy/http/h2_client_session.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "proxy/http/h2_server_session.h"

namespace readygate {
namespace {

/// What the client side reported, per stream.
struct ClientRecorder : H2ClientSession::Events {
  struct Response {
    int status = 0;
    std::vector<int> interim;
    std::map<std::string, std::string> fields;
    bool headEndedStream = false;
    std::string body;
    std::map<std::string, std::string> trailers;
    bool ended = false;
    bool closed = false;
    uint32_t closeCode = UINT32_MAX;
  };
  std::map<int32_t, Response> responses;
  H2ClientSession* session = nullptr;  // not owned

  void onResponseHead(int32_t stream, MessageHead& head, bool endStream) override {
    Response& r = responses[stream];
    if (head.status < 200) {
      r.interim.push_back(head.status);
      return;
    }
    r.status = head.status;
    r.headEndedStream = endStream;
    for (const HeaderField& f : head.headers) r.fields[f.name] = f.value;
  }
  void onResponseData(int32_t stream, std::string_view data) override {
    responses[stream].body.append(data);
    session->consume(stream, data.size());
  }
  void onResponseEnd(int32_t stream, std::vector<HeaderField>& trailers) override {
    responses[stream].ended = true;
    for (const HeaderField& f : trailers) responses[stream].trailers[f.name] = f.value;
  }
  void onStreamClosed(int32_t stream, uint32_t code) override {
    responses[stream].closed = true;
    responses[stream].closeCode = code;
  }
};

/// The backend: readygate's server session, recording requests.
struct ServerRecorder : H2ServerSession::Events {
  struct Request {
    MessageHead head;
    std::string body;
    std::string trailers;
    bool ended = false;
  };
  std::map<int32_t, Request> requests;
  H2ServerSession* session = nullptr;  // not owned

  void onRequestHead(int32_t stream, MessageHead& head, bool) override {
    requests[stream].head = std::move(head);
  }
  void onRequestData(int32_t stream, std::string_view data) override {
    requests[stream].body.append(data);
    session->consume(stream, data.size());
  }
  void onRequestEnd(int32_t stream, std::string_view trailers) override {
    requests[stream].ended = true;
    requests[stream].trailers = trailers;
  }
  void onStreamClosed(int32_t, uint32_t) override {}
  void onResponseDrained(int32_t) override {}
};

std::vector<HeaderField> grpcRequest(std::string path = "/test.Echo/Unary") {
  return {{":method", "POST"},     {":scheme", "http"},
          {":authority", "svc"},   {":path", std::move(path)},
          {"content-type", "application/grpc"}, {"te", "trailers"}};
}

/// A client and a server session joined in memory.
class H2ClientWithBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    recorder_.session = &client_;
    server_.session = &serverSession_;
    ASSERT_TRUE(client_.start());
    ASSERT_TRUE(serverSession_.start());
  }
  /// Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (int round = 0; round < 50; ++round) {
      std::string toServer;
      for (auto out = client_.nextOutput(); !out.empty(); out = client_.nextOutput()) toServer += out;
      std::string toClient;
      if (!toServer.empty()) serverSession_.receive(toServer, 0);
      for (auto out = serverSession_.nextOutput(); !out.empty(); out = serverSession_.nextOutput()) {
        toClient += out;
      }
      if (!toClient.empty()) client_.receive(toClient);
      if (toServer.empty() && toClient.empty()) return;
    }
  }

  ClientRecorder recorder_;
  H2ClientSession client_{H2ClientSession::Limits{}, recorder_};
  ServerRecorder server_;
  Http2Settings settings_;
  H2ServerSession serverSession_{settings_, 65536, server_};
};

TEST_F(H2ClientWithBackend, ARequestWithBodyAndTrailersAndAResponseWithTrailersCrossWhole) {
  int32_t id = client_.submitRequest(grpcRequest(), false);
  ASSERT_GT(id, 0);
  client_.sendBody(id, "hello ");
  client_.sendBody(id, "world");
  client_.endRequest(id, {{"x-checksum", "42"}});
  pump();
  ASSERT_EQ(server_.requests.count(id), 1u);
  ServerRecorder::Request& request = server_.requests[id];
  EXPECT_EQ(request.head.method, "POST");
  EXPECT_EQ(request.head.target, "/test.Echo/Unary");
  ASSERT_NE(request.head.find("te"), nullptr);
  EXPECT_EQ(*request.head.find("te"), "trailers");
  EXPECT_EQ(request.body, "hello world");
  EXPECT_TRUE(request.ended);
  EXPECT_EQ(request.trailers, "x-checksum: 42\r\n");

  MessageHead response;
  response.status = 200;
  response.headers = {{"content-type", "application/grpc"}};
  serverSession_.submitResponse(id, response, true);
  serverSession_.sendBody(id, "answer");
  serverSession_.endBody(id, {{"grpc-status", "0"}, {"grpc-message", "fine"}});
  pump();
  ClientRecorder::Response& got = recorder_.responses[id];
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.fields["content-type"], "application/grpc");
  EXPECT_FALSE(got.headEndedStream);
  EXPECT_EQ(got.body, "answer");
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(got.trailers["grpc-status"], "0");
  EXPECT_EQ(got.trailers["grpc-message"], "fine");
  EXPECT_TRUE(got.closed);
  EXPECT_EQ(got.closeCode, 0u);
  EXPECT_EQ(client_.openStreams(), 0u);
}

TEST_F(H2ClientWithBackend, ATrailersOnlyAnswerEndsWithItsHead) {
  int32_t id = client_.submitRequest(grpcRequest(), true);
  pump();
  MessageHead response;
  response.status = 200;
  response.headers = {{"content-type", "application/grpc"},
                      {"grpc-status", "5"},
                      {"grpc-message", "no such item"}};
  serverSession_.submitResponse(id, response, false);
  pump();
  ClientRecorder::Response& got = recorder_.responses[id];
  EXPECT_TRUE(got.headEndedStream);
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(got.fields["grpc-status"], "5");
  EXPECT_EQ(got.fields["grpc-message"], "no such item");
  EXPECT_TRUE(got.trailers.empty());
  EXPECT_EQ(got.closeCode, 0u);
}

TEST_F(H2ClientWithBackend, AnInterimHeadComesBeforeTheResponse) {
  int32_t id = client_.submitRequest(grpcRequest(), true);
  pump();
  serverSession_.submitInterim(id, 103);
  MessageHead response;
  response.status = 204;
  serverSession_.submitResponse(id, response, false);
  pump();
  EXPECT_EQ(recorder_.responses[id].interim, std::vector<int>{103});
  EXPECT_EQ(recorder_.responses[id].status, 204);
  EXPECT_TRUE(recorder_.responses[id].ended);
}

TEST_F(H2ClientWithBackend, ReleasingAStreamMidResponseCancelsIt) {
  int32_t id = client_.submitRequest(grpcRequest(), true);
  pump();
  MessageHead response;
  response.status = 200;
  serverSession_.submitResponse(id, response, true);
  serverSession_.sendBody(id, "first part");
  pump();
  client_.release(id);
  pump();
  EXPECT_EQ(client_.openStreams(), 0u);
  EXPECT_EQ(recorder_.responses[id].closeCode, kH2Cancel);
}

/// Frames by hand, for what the server session never sends.
std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>(payload.size() >> 16));
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(stream >> shift));
  return out + payload;
}
std::string u32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}
std::string settings(std::vector<std::pair<uint16_t, uint32_t>> entries = {}) {
  std::string payload;
  for (auto [id, value] : entries) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id));
    payload += u32(value);
  }
  return frame(0x4, 0, 0, payload);
}
std::string goaway(uint32_t lastStream, uint32_t code) { return frame(0x7, 0, 0, u32(lastStream) + u32(code)); }

/// A client alone, fed frames by hand.
class H2ClientFedFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    recorder_.session = &client_;
    ASSERT_TRUE(client_.start());
  }
  std::string sent() {
    std::string out;
    for (auto piece = client_.nextOutput(); !piece.empty(); piece = client_.nextOutput()) out += piece;
    return out;
  }
  ClientRecorder recorder_;
  H2ClientSession client_{H2ClientSession::Limits{}, recorder_};
};

TEST_F(H2ClientFedFrames, StreamsAboveAGoawaysLastStreamAreRefusedAndTheConnectionTakesNoMore) {
  int32_t first = client_.submitRequest(grpcRequest(), true);
  int32_t second = client_.submitRequest(grpcRequest(), true);
  int32_t third = client_.submitRequest(grpcRequest(), true);
  ASSERT_EQ(sent().substr(0, 24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_TRUE(client_.receive(settings() + goaway(static_cast<uint32_t>(first), 0)));
  EXPECT_TRUE(client_.goawayReceived());
  EXPECT_FALSE(client_.hasRoom());
  EXPECT_EQ(client_.submitRequest(grpcRequest(), true), 0);
  EXPECT_FALSE(recorder_.responses[first].closed);  // it goes on
  EXPECT_EQ(recorder_.responses[second].closeCode, kH2RefusedStream);
  EXPECT_EQ(recorder_.responses[third].closeCode, kH2RefusedStream);
  EXPECT_EQ(client_.counters().refusedStreams, 2u);
  EXPECT_EQ(client_.counters().goawaysReceived, 1u);
}

TEST_F(H2ClientFedFrames, ARequestNotYetSentWhenTheGoawayCameIsRefusedToo) {
  sent();
  EXPECT_TRUE(client_.receive(settings()));
  int32_t waiting = client_.submitRequest(grpcRequest(), true);  // queued, not sent
  ASSERT_GT(waiting, 0);
  client_.receive(goaway(0, 0));
  sent();  // nghttp2 now finds it may not start the stream
  EXPECT_TRUE(recorder_.responses[waiting].closed);
  EXPECT_EQ(recorder_.responses[waiting].closeCode, kH2RefusedStream);
}

TEST_F(H2ClientFedFrames, ARefusedStreamResetSaysSo) {
  int32_t id = client_.submitRequest(grpcRequest(), true);
  sent();
  client_.receive(settings() + frame(0x3, 0, static_cast<uint32_t>(id), u32(kH2RefusedStream)));
  EXPECT_EQ(recorder_.responses[id].closeCode, kH2RefusedStream);
  // Any other reset is not "never begun".
  int32_t other = client_.submitRequest(grpcRequest(), true);
  sent();
  client_.receive(frame(0x3, 0, static_cast<uint32_t>(other), u32(kH2InternalError)));
  EXPECT_EQ(recorder_.responses[other].closeCode, kH2InternalError);
}

TEST_F(H2ClientFedFrames, TheBackendsStreamLimitIsKeptAndAssumedAtAHundredBeforeItsSettings) {
  EXPECT_EQ(client_.peerMaxStreams(), 100u);
  client_.receive(settings({{0x3, 2}}));  // SETTINGS_MAX_CONCURRENT_STREAMS 2
  EXPECT_EQ(client_.peerMaxStreams(), 2u);
  EXPECT_GT(client_.submitRequest(grpcRequest(), true), 0);
  EXPECT_TRUE(client_.hasRoom());
  EXPECT_GT(client_.submitRequest(grpcRequest(), true), 0);
  EXPECT_FALSE(client_.hasRoom());
  EXPECT_EQ(client_.submitRequest(grpcRequest(), true), 0);
  EXPECT_EQ(client_.openStreams(), 2u);
}

TEST_F(H2ClientFedFrames, AnAnswerBeforeTheWholeRequestFreesItsStreamOnRelease) {
  int32_t id = client_.submitRequest(grpcRequest(), false);
  client_.sendBody(id, "part of an upload");
  sent();
  // A backend that answers (":status 200", END_STREAM) and does not reset the rest,
  // as readygate's own server session would.
  client_.receive(settings() + frame(0x1, 0x5, static_cast<uint32_t>(id), std::string("\x88", 1)));
  ASSERT_TRUE(recorder_.responses[id].ended);
  EXPECT_EQ(client_.openStreams(), 1u);  // the request side is still open
  client_.release(id);
  std::string out = sent();
  EXPECT_NE(out.find(frame(0x3, 0, static_cast<uint32_t>(id), u32(kH2NoError))), std::string::npos);
  EXPECT_EQ(client_.openStreams(), 0u);  // else a concurrency slot is held for ever
}

TEST_F(H2ClientFedFrames, GarbageFromTheBackendEndsTheConnectionAndEveryStream) {
  int32_t id = client_.submitRequest(grpcRequest(), true);
  sent();
  client_.receive(std::string("HTTP/1.1 200 OK\r\n\r\n"));
  EXPECT_NE(client_.failure(), "");
  EXPECT_FALSE(client_.hasRoom());
  std::string out = sent();
  ASSERT_GE(out.size(), 9u);
  EXPECT_EQ(out[3], '\x07');  // GOAWAY
  EXPECT_TRUE(client_.finished());
  EXPECT_FALSE(client_.receive(settings()));
  EXPECT_EQ(recorder_.responses.count(id), 0u);  // the owner fails its streams
}

TEST_F(H2ClientFedFrames, AResponseHeadPastTheLimitResetsTheStream) {
  H2ClientSession::Limits limits;
  limits.maxHeaderListBytes = 200;
  ClientRecorder recorder;
  H2ClientSession small(limits, recorder);
  recorder.session = &small;
  ASSERT_TRUE(small.start());
  // The server side answers with a large head through a real session.
  ServerRecorder server;
  Http2Settings settings;
  H2ServerSession backend(settings, 65536, server);
  server.session = &backend;
  ASSERT_TRUE(backend.start());
  int32_t id = small.submitRequest(grpcRequest(), true);
  auto pump = [&] {
    for (int round = 0; round < 20; ++round) {
      std::string a, b;
      for (auto o = small.nextOutput(); !o.empty(); o = small.nextOutput()) a += o;
      if (!a.empty()) backend.receive(a, 0);
      for (auto o = backend.nextOutput(); !o.empty(); o = backend.nextOutput()) b += o;
      if (!b.empty()) small.receive(b);
      if (a.empty() && b.empty()) return;
    }
  };
  pump();
  MessageHead response;
  response.status = 200;
  response.headers = {{"x-big", std::string(400, 'a')}};
  backend.submitResponse(id, response, false);
  pump();
  EXPECT_EQ(recorder.responses[id].status, 0);  // never delivered
  EXPECT_TRUE(recorder.responses[id].closed);
  EXPECT_NE(recorder.responses[id].closeCode, 0u);
}

}  // namespace
}  // namespace readygate
