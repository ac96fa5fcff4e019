// ProbeResponseParser: verdicts from whole, split, cut and malformed answers.
#include "proxy/probe/probe_response_parser.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

TEST(ProbeResponseParser, StatusClassesDecideAndTheBodysFirstLineIsTheMessage) {
  ProbeResponseParser ok;
  auto passed = ok.feed("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(passed);
  EXPECT_TRUE(passed->success);

  ProbeResponseParser unavailable;
  auto failed = unavailable.feed(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 18\r\n\r\ndraining\nsecond\n12");
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->success);
  EXPECT_EQ(failed->reason, "http_503");
  EXPECT_EQ(failed->message, "draining");

  ProbeResponseParser redirect;
  EXPECT_TRUE(redirect.feed("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n")->success);
  ProbeResponseParser badRequest;
  EXPECT_EQ(badRequest.feed("HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n")->reason, "http_400");
}

TEST(ProbeResponseParser, AnAnswerSplitAnywhereGivesTheSameVerdict) {
  const std::string answer =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nready\r\n0\r\n\r\n";
  for (size_t cut = 1; cut < answer.size(); ++cut) {
    ProbeResponseParser parser;
    EXPECT_FALSE(parser.feed(answer.substr(0, cut))) << cut;
    auto verdict = parser.feed(answer.substr(cut));
    ASSERT_TRUE(verdict) << cut;
    EXPECT_TRUE(verdict->success);
    EXPECT_EQ(verdict->message, "ready");
  }
}

TEST(ProbeResponseParser, EndsOfStreamAndFailures) {
  ProbeResponseParser untilClose;
  EXPECT_FALSE(untilClose.feed("HTTP/1.0 200 OK\r\n\r\nbody without length"));
  ProbeResult closed = untilClose.endOfStream();
  EXPECT_TRUE(closed.success);
  EXPECT_EQ(closed.message, "body without length");

  ProbeResponseParser silent;
  EXPECT_EQ(silent.endOfStream().reason, "connection_closed");
  EXPECT_FALSE(silent.connectionFailed());

  ProbeResponseParser reset;
  EXPECT_FALSE(reset.feed("HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\npart"));
  ASSERT_TRUE(reset.connectionFailed());
  EXPECT_EQ(reset.connectionFailed()->reason, "http_500");

  ProbeResponseParser garbage;
  auto malformed = garbage.feed("SSH-2.0-OpenSSH_9.2\r\n");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->reason, "http_malformed");
}

TEST(ProbeResponseParser, AnEndlessBodyStopsAtTheCap) {
  ProbeResponseParser parser;
  EXPECT_FALSE(parser.feed("HTTP/1.1 200 OK\r\n\r\n"));
  std::string chunk(4096, 'x');
  std::optional<ProbeResult> verdict;
  for (int i = 0; i < 10 && !verdict; ++i) verdict = parser.feed(chunk);
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->success);
  EXPECT_EQ(verdict->message.size(), 200u);
}

}  // namespace
}  // namespace readygate
