// MessageReader: heads, streamed bodies, pipelining pauses, and every smuggling case refused.
#include "proxy/http/message_reader.h"

#include <gtest/gtest.h>

#include "proxy/http/message_writer.h"

namespace readygate {
namespace {

/// Collects what the reader reports; resumes after every pause, as a proxy that has
/// dealt with each step would.
struct Collector : MessageReader::Events {
  void onHead(MessageHead& head) override { heads.push_back(head); }
  void onBody(std::string_view data) override { bodies.back().append(data); }
  void onMessageEnd() override { ++ends; }
  std::vector<MessageHead> heads;
  std::vector<std::string> bodies{std::string()};
  int ends = 0;
};

struct Parsed {
  Collector events;
  MessageReader::Error error;
  size_t consumed = 0;
};

Parsed parseAll(std::string_view text, MessageReader::Kind kind = MessageReader::Kind::Request,
                MessageReader::Limits limits = {}) {
  Parsed parsed;
  MessageReader reader(kind, limits, parsed.events);
  while (parsed.consumed < text.size()) {
    size_t n = reader.feed(text.substr(parsed.consumed));
    parsed.consumed += n;
    if (reader.failed()) break;
    if (reader.paused()) {
      if (parsed.events.ends > 0 && parsed.events.bodies.size() < parsed.events.heads.size() + 1) {
        parsed.events.bodies.emplace_back();
      }
      reader.resume();
    } else if (n == 0) {
      break;
    }
  }
  parsed.error = reader.error();
  return parsed;
}

TEST(MessageReader, ReadsAHeadAndStreamsAChunkedBodyWithoutItsFraming) {
  Parsed parsed = parseAll(
      "POST /upload?x=1 HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_EQ(parsed.error.status, 0) << parsed.error.reason;
  ASSERT_EQ(parsed.events.heads.size(), 1u);
  const MessageHead& head = parsed.events.heads[0];
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.target, "/upload?x=1");
  EXPECT_TRUE(head.chunked);
  EXPECT_TRUE(head.keepAlive);
  ASSERT_NE(head.find("host"), nullptr);
  EXPECT_EQ(*head.find("host"), "web");
  EXPECT_EQ(parsed.events.bodies[0], "hello world");
  EXPECT_EQ(parsed.events.ends, 1);
}

TEST(MessageReader, PipelinedRequestsComeOneAtATime) {
  MessageReader::Limits limits;
  Collector events;
  MessageReader reader(MessageReader::Kind::Request, limits, events);
  std::string two = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  size_t consumed = reader.feed(two);
  EXPECT_TRUE(reader.paused());
  ASSERT_EQ(events.heads.size(), 1u);  // stops after the first head
  EXPECT_EQ(events.heads[0].target, "/a");
  reader.resume();
  consumed += reader.feed(std::string_view(two).substr(consumed));
  EXPECT_EQ(events.ends, 1);  // and after its end: /b waits for the owner
  EXPECT_EQ(events.heads.size(), 1u);
  reader.resume();
  consumed += reader.feed(std::string_view(two).substr(consumed));
  ASSERT_EQ(events.heads.size(), 2u);
  EXPECT_EQ(events.heads[1].target, "/b");
}

TEST(MessageReader, Http10AndConnectionCloseAreNotKeptAlive) {
  EXPECT_FALSE(parseAll("GET / HTTP/1.0\r\n\r\n").events.heads.at(0).keepAlive);
  EXPECT_TRUE(
      parseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").events.heads.at(0).keepAlive);
  EXPECT_FALSE(
      parseAll("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").events.heads.at(0).keepAlive);
}

TEST(MessageReader, ExpectAndUpgradeAreSeen) {
  auto expect = parseAll("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_TRUE(expect.events.heads.at(0).expectContinue);
  auto upgrade = parseAll("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_TRUE(upgrade.events.heads.at(0).upgrade);
}

// Each of these is read two ways by two parsers somewhere; none may be forwarded.
TEST(MessageReader, AmbiguousRequestsAreRefused) {
  struct Case {
    const char* name;
    const char* request;
    int status;
  };
  const Case cases[] = {
      {"content-length and chunked",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"differing content-lengths",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"repeated content-length",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"invalid chunk size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", 400},
      {"chunked not last", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"bare LF", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400},
      {"obsolete line folding", "GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", 400},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400},
      {"not http", "HELLO\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    Parsed parsed = parseAll(c.request);
    EXPECT_EQ(parsed.error.status, c.status) << c.name;
    EXPECT_FALSE(parsed.error.reason.empty()) << c.name;
    // Nothing of a refused message reaches the owner as a complete request.
    EXPECT_EQ(parsed.events.ends, 0) << c.name;
  }
}

TEST(MessageReader, LimitsGiveTheirStatus) {
  MessageReader::Limits small{1024, 256};
  std::string longUrl = "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parseAll(longUrl, MessageReader::Kind::Request, small).error.status, 414);
  std::string bigHeaders = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n";
  EXPECT_EQ(parseAll(bigHeaders, MessageReader::Kind::Request, small).error.status, 431);
}

TEST(MessageReader, ResponsesToHeadHaveNoBody) {
  Collector events;
  MessageReader reader(MessageReader::Kind::Response, {}, events);
  reader.expectNoBody(true);
  std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  size_t consumed = 0;
  for (int i = 0; i < 6 && consumed < response.size(); ++i) {
    consumed += reader.feed(std::string_view(response).substr(consumed));
    reader.resume();
  }
  ASSERT_EQ(events.heads.size(), 2u);
  EXPECT_EQ(events.heads[0].status, 200);
  EXPECT_EQ(events.heads[1].status, 204);
  EXPECT_EQ(events.ends, 2);
}

TEST(MessageWriter, HopByHopHeadersGoAndForwardingHeadersCome) {
  MessageHead request = parseAll(
                            "GET /p HTTP/1.1\r\nHost: web.example\r\nConnection: keep-alive, "
                            "X-Secret\r\nX-Secret: 1\r\n"
                            "Keep-Alive: 5\r\nTE: trailers\r\nX-Forwarded-For: "
                            "10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
                            "Accept: */*\r\n\r\n")
                            .events.heads.at(0);
  std::string head = requestHeadForUpstream(
      request, BodyFraming::None, ForwardingInfo{"127.0.0.9", "abc123", true, true, true});
  EXPECT_EQ(head.rfind("GET /p HTTP/1.1\r\n", 0), 0u);
  for (const char* gone : {"Connection:", "X-Secret", "Keep-Alive", "TE:", "https"}) {
    EXPECT_EQ(head.find(gone), std::string::npos) << gone << " in\n" << head;
  }
  for (const char* kept :
       {"Host: web.example\r\n", "Accept: */*\r\n", "X-Forwarded-For: 10.0.0.1, 127.0.0.9\r\n",
        "X-Forwarded-Proto: http\r\n", "X-Forwarded-Host: web.example\r\n",
        "X-Request-Id: abc123\r\n", "Via: 1.1 readygate\r\n"}) {
    EXPECT_NE(head.find(kept), std::string::npos) << kept << " missing in\n" << head;
  }
}

TEST(MessageWriter, AnUntrustedClientsForwardedForIsReplaced) {
  MessageHead request =
      parseAll("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n").events.heads.at(0);
  std::string head = requestHeadForUpstream(request, BodyFraming::None,
                                            ForwardingInfo{"127.0.0.9", "", true, false, false});
  EXPECT_NE(head.find("X-Forwarded-For: 127.0.0.9\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("6.6.6.6"), std::string::npos) << head;
}

TEST(MessageWriter, AnHttp10RequestWithoutHostGetsOneAndAHostIsNeverDoubled) {
  ForwardingInfo info{"127.0.0.9", "", false};
  info.hostIfMissing = "127.0.0.1:8443";
  MessageHead old = parseAll("GET / HTTP/1.0\r\n\r\n").events.heads.at(0);
  EXPECT_EQ(requestHeadForUpstream(old, BodyFraming::None, info),
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n");
  MessageHead named = parseAll("GET / HTTP/1.0\r\nHost: a\r\n\r\n").events.heads.at(0);
  EXPECT_EQ(requestHeadForUpstream(named, BodyFraming::None, info),
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(MessageWriter, ErrorResponsesAreSmallAndComplete) {
  std::string response = errorResponse(503, "no_ready_backend", false);
  EXPECT_EQ(response.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_NE(response.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos);
  Parsed parsed = parseAll(response, MessageReader::Kind::Response);
  EXPECT_EQ(parsed.error.status, 0);
  EXPECT_EQ(parsed.events.ends, 1);
  EXPECT_EQ(parsed.events.bodies[0], "503 Service Unavailable (no_ready_backend)\n");
}

// Issue 17: trailers are dropped and limited on their own; a request offering h2c is a
// plain HTTP/1.1 request; validateAhead finds a bad chunk without consuming anything.
TEST(MessageReader, TrailersAreDroppedAndLimitedOnTheirOwn) {
  MessageReader::Limits limits{1024, 256, 64};
  Parsed small = parseAll(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nhi\r\n0\r\nX-Checksum: abc\r\n\r\n",
      MessageReader::Kind::Request, limits);
  EXPECT_EQ(small.error.status, 0);
  EXPECT_EQ(small.events.ends, 1);
  ASSERT_EQ(small.events.heads.size(), 1u);
  EXPECT_EQ(small.events.heads[0].find("X-Checksum"), nullptr);
  Parsed big = parseAll(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nhi\r\n0\r\nX-Big: " +
          std::string(100, 'v') + "\r\n\r\n",
      MessageReader::Kind::Request, limits);
  EXPECT_EQ(big.error.status, 431);
  EXPECT_EQ(big.error.reason, "trailer_too_large");
  Parsed response = parseAll(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nX-Big: " +
          std::string(100, 'v') + "\r\n\r\n",
      MessageReader::Kind::Response, limits);
  EXPECT_EQ(response.error.status, 502);
}

TEST(MessageReader, AnH2cUpgradeIsReadAsPlainHttp11) {
  Parsed parsed = parseAll(
      "GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(parsed.error.status, 0);
  ASSERT_EQ(parsed.events.heads.size(), 2u);  // the second request is parsed, not tunneled
  EXPECT_FALSE(parsed.events.heads[0].upgrade);
  EXPECT_EQ(parsed.events.heads[0].find("Upgrade"), nullptr);
  EXPECT_EQ(parsed.events.heads[0].find("HTTP2-Settings"), nullptr);
  EXPECT_EQ(parsed.events.heads[1].target, "/next");
}

TEST(MessageReader, ValidateAheadFindsABadChunkWithoutConsumingAnything) {
  Collector events;
  MessageReader reader(MessageReader::Kind::Request, {}, events);
  std::string head = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  size_t consumed = reader.feed(head);  // pauses at the head (its last byte may wait)
  ASSERT_TRUE(reader.paused());
  reader.resume();
  ASSERT_EQ(reader.feed(std::string_view(head).substr(consumed)), head.size() - consumed);
  ASSERT_TRUE(reader.inBody());
  std::string_view good[] = {"5\r\nhel", "lo\r\n0\r\n\r\nGARBAGE AFTER THE END"};
  EXPECT_TRUE(reader.validateAhead(good));  // what follows the message is not its business
  EXPECT_FALSE(reader.failed());
  EXPECT_EQ(events.bodies.back(), "");  // nothing was consumed
  std::string_view bad[] = {"5\r\nhello\r\n", "ZZ\r\n"};
  EXPECT_FALSE(reader.validateAhead(bad));
  EXPECT_EQ(reader.error().status, 400);
  EXPECT_EQ(events.bodies.back(), "");
}

}  // namespace
}  // namespace readygate

namespace readygate {
namespace {

/// Feeds `text` one byte at a time: every line is cut, so the head scanner's byte loop
/// sees all of it, where a whole buffer takes its line-at-a-time path.
Parsed parseByteByByte(std::string_view text, MessageReader::Limits limits = {}) {
  Parsed parsed;
  MessageReader reader(MessageReader::Kind::Request, limits, parsed.events);
  while (parsed.consumed < text.size() && !reader.failed()) {
    size_t n = reader.feed(text.substr(parsed.consumed, 1));
    parsed.consumed += n;
    if (reader.paused()) {
      reader.resume();
    } else if (n == 0) {
      break;
    }
  }
  parsed.error = reader.error();
  return parsed;
}

TEST(MessageReader, WholeLinesAndSingleBytesGiveTheSameVerdict) {
  const std::string heads[] = {
      "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: x y z\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
      "GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n",
      "GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello",
      "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n",
      "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
      "GET / HTTP/1.1\r\nA B: c\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n",
      "GET / HTTP/1.1\r\nHost: h:1\r\nX: a:b c\r\n\r\n",
      "GET / HTTP/1.1\r\nX-Big: " + std::string(900, 'b') + "\r\n\r\n",
  };
  MessageReader::Limits small{512, 256};
  for (const std::string& head : heads) {
    for (MessageReader::Limits limits : {MessageReader::Limits{}, small}) {
      Parsed whole = parseAll(head, MessageReader::Kind::Request, limits);
      Parsed bytes = parseByteByByte(head, limits);
      // The reason may differ (cut into bytes, http-parser can see a bad name byte before
      // the scanner sees its colon); whether and how it is refused may not.
      EXPECT_EQ(whole.error.status, bytes.error.status) << head;
      EXPECT_EQ(whole.events.heads.size(), bytes.events.heads.size()) << head;
      if (!whole.events.heads.empty() && !bytes.events.heads.empty()) {
        EXPECT_EQ(whole.events.heads[0].headers.size(), bytes.events.heads[0].headers.size());
      }
    }
  }
}

TEST(MessageReader, TheHeadScannerNamesWhatIsWrongWhateverTheLineItIsOn) {
  struct Case {
    std::string request;
    const char* reason;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\nHost: h\r\n\r\n", "bare_lf"},
      {"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", "bare_lf"},
      {"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", "bare_cr"},
      {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nHost: h\rX: y\r\n\r\n", "bare_cr"},
      {"GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", "obsolete_line_folding"},
      {"GET / HTTP/1.1\r\nX-A: one\r\n\ttwo: 2\r\n\r\n", "obsolete_line_folding"},
      {"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", "space_before_colon"},
      {"GET / HTTP/1.1\r\nA: 1\r\nHost\t: h\r\n\r\n", "space_before_colon"},
      {"GET / HTTP/1.1\r\nX-Big: " + std::string(900, 'b') + "\r\n\r\n", "header_too_large"},
  };
  for (const Case& c : cases) {
    Parsed parsed = parseAll(c.request, MessageReader::Kind::Request, {512, 256});
    EXPECT_EQ(parsed.error.reason, c.reason) << c.request;
  }
}

}  // namespace
}  // namespace readygate
