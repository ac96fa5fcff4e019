// GrpcHealthExchange: the client's first bytes, and the verdict for server answers built
// frame by frame here (HTTP/2 frames with literal HPACK headers).
#include "proxy/probe/grpc_health_exchange.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

using namespace std::string_literals;

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string out;
  for (int shift = 16; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(payload.size() >> shift));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(stream >> shift));
  return out + payload;
}

/// A literal header field without indexing (HPACK 6.2.2), short name and value.
std::string literal(const std::string& name, const std::string& value) {
  return "\x00"s + static_cast<char>(name.size()) + name + static_cast<char>(value.size()) + value;
}

const std::string kSettings = frame(4, 0, 0, "");
const std::string kHead = frame(1, 4, 1, "\x88"s + literal("content-type", "application/grpc"));

std::string data(int status) {
  return frame(0, 0, 1, "\x00\x00\x00\x00\x02\x08"s + static_cast<char>(status));
}
std::string trailers(const std::string& code) {
  return frame(1, 5, 1, literal("grpc-status", code));
}

ProbeResult exchangeWith(const std::string& server) {
  GrpcHealthExchange exchange("127.0.0.1:9000", false, "");
  EXPECT_FALSE(exchange.start());
  EXPECT_EQ(exchange.takeOutput().substr(0, 24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  std::optional<ProbeResult> verdict = exchange.receive(server);
  return verdict ? *verdict : exchange.connectionEnded("closed");
}

TEST(GrpcHealthExchange, VerdictsFromWholeAnswers) {
  EXPECT_EQ(exchangeWith(kSettings + kHead + data(1) + trailers("0")).reason, "ok");
  EXPECT_EQ(exchangeWith(kSettings + kHead + data(2) + trailers("0")).reason, "grpc_not_serving");
  EXPECT_EQ(exchangeWith(kSettings + frame(1, 5, 1,
                                           "\x88"s + literal("content-type", "application/grpc") +
                                               literal("grpc-status", "5")))
                .reason,
            "grpc_unknown_service")
      << "a trailers-only answer";
  EXPECT_EQ(exchangeWith(kSettings + frame(1, 5, 1, "\x8d"s)).reason, "grpc_status_12")
      << "HTTP 404 without grpc-status is UNIMPLEMENTED";
  EXPECT_EQ(exchangeWith(kSettings + frame(3, 0, 1, "\x00\x00\x00\x02"s)).reason, "h2_protocol")
      << "RST_STREAM";
  EXPECT_EQ(exchangeWith("HTTP/1.1 400 Bad Request\r\n\r\n").reason, "h2_protocol");
  EXPECT_EQ(exchangeWith(kSettings + kHead + data(1)).reason, "connection_closed")
      << "closed before the trailers";
  EXPECT_EQ(exchangeWith("").reason, "h2_protocol") << "closed without a frame";
}

TEST(GrpcHealthExchange, AnAnswerSplitAnywhereGivesTheSameVerdict) {
  const std::string answer = kSettings + kHead + data(1) + trailers("0");
  for (size_t cut = 0; cut <= answer.size(); ++cut) {
    GrpcHealthExchange exchange("127.0.0.1:9000", true, "svc");
    ASSERT_FALSE(exchange.start());
    std::optional<ProbeResult> verdict = exchange.receive(answer.substr(0, cut));
    if (!verdict) verdict = exchange.receive(answer.substr(cut));
    ASSERT_TRUE(verdict) << cut;
    EXPECT_EQ(verdict->reason, "ok") << cut;
  }
}

}  // namespace
}  // namespace readygate
