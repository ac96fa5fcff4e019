// ApiResponseReader: the API server's answers as they come off the socket, in any pieces.
#include "proxy/discovery/api_response_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace readygate {
namespace {

struct Seen {
  int status = 0;
  std::string body;
  int ends = 0;
  ApiResponseReader::Events events() {
    return {[this](int code) { status = code; }, [this](std::string_view piece) { body += piece; },
            [this] { ++ends; }};
  }
};

TEST(ApiResponseReader, AChunkedWatchComesOutWholeWhereverTheBytesAreCut) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10\r\n{\"type\":\"ADDED\",\r\n"
      "5\r\n\"obj\"\r\n"
      "3\r\n:{}\r\n"
      "2\r\n}\n\r\n"
      "0\r\n\r\n";
  for (size_t piece = 1; piece <= response.size(); ++piece) {
    Seen seen;
    ApiResponseReader reader(seen.events());
    for (size_t at = 0; at < response.size(); at += piece) {
      ASSERT_TRUE(reader.feed(std::string_view(response).substr(at, piece))) << reader.error();
    }
    EXPECT_EQ(seen.status, 200);
    EXPECT_EQ(seen.body, "{\"type\":\"ADDED\",\"obj\":{}}\n") << "pieces of " << piece;
    EXPECT_EQ(seen.ends, 1);
    EXPECT_TRUE(reader.complete());
  }
}

TEST(ApiResponseReader, AStatusAnswerWithALengthAndOneThatRunsToTheClose) {
  Seen gone;
  ApiResponseReader reader(gone.events());
  const std::string body = R"({"kind":"Status","code":410,"reason":"Expired"})";
  ASSERT_TRUE(reader.feed("HTTP/1.1 410 Gone\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body));
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(gone.body, body);
  EXPECT_TRUE(reader.complete());

  Seen open;
  ApiResponseReader toClose(open.events());
  ASSERT_TRUE(toClose.feed("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":"));
  ASSERT_TRUE(toClose.feed("1}"));
  EXPECT_FALSE(toClose.complete());
  EXPECT_TRUE(toClose.finishAtClose());
  EXPECT_EQ(open.body, "{\"a\":1}");
  EXPECT_EQ(open.ends, 1);
}

TEST(ApiResponseReader, ACutMalformedOrTrailingResponseIsAnError) {
  Seen cut;
  ApiResponseReader inChunk(cut.events());
  ASSERT_TRUE(inChunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"type\""));
  EXPECT_FALSE(inChunk.finishAtClose());  // a watch cut mid-event: not a clean end
  EXPECT_EQ(inChunk.error(), "the connection closed inside the response");
  EXPECT_EQ(cut.ends, 0);

  Seen none;
  ApiResponseReader nothing(none.events());
  EXPECT_FALSE(nothing.finishAtClose());
  EXPECT_EQ(nothing.error(), "the connection closed before a response");

  Seen bad;
  ApiResponseReader garbage(bad.events());
  EXPECT_FALSE(garbage.feed("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_NE(garbage.error().find("malformed response"), std::string::npos) << garbage.error();
  EXPECT_FALSE(garbage.feed("HTTP/1.1 200 OK\r\n\r\n"));  // failed stays failed
  EXPECT_EQ(bad.status, 0);

  for (const char* odd : {"HTTP/1.1 2 OK\r\n\r\n", "HTTP/3.1 200 OK\r\n\r\n"}) {
    Seen seen;
    ApiResponseReader reader(seen.events());
    EXPECT_FALSE(reader.feed(odd)) << odd;  // http-parser alone takes both
    EXPECT_EQ(seen.status, 0) << odd;
  }

  Seen extra;
  ApiResponseReader trailing(extra.events());
  EXPECT_FALSE(trailing.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(trailing.error(), "bytes after the end of the response");
  EXPECT_EQ(extra.body, "{}");
}

}  // namespace
}  // namespace readygate
