// grpc_health codec: the documented wire bytes both ways, framing limits, every verdict.
#include "proxy/probe/grpc_health_codec.h"

#include <gtest/gtest.h>

namespace readygate::grpc_health {
namespace {

using namespace std::string_literals;

TEST(GrpcHealthCodec, RequestsAreTheDocumentedBytes) {
  EXPECT_EQ(encodeRequest(""), "\x00\x00\x00\x00\x00"s);
  EXPECT_EQ(encodeRequest("web"), "\x00\x00\x00\x00\x05\x0A\x03web"s);
  std::string longName(200, 's');  // a length that needs two varint bytes (C8 01)
  EXPECT_EQ(encodeRequest(longName), "\x00\x00\x00\x00\xCB\x0A\xC8\x01"s + longName);
}

TEST(GrpcHealthCodec, StatusIsFieldOneAndOtherFieldsAreSkipped) {
  EXPECT_EQ(decodeStatus("\x08\x01"s), 1);
  EXPECT_EQ(decodeStatus("\x08\x02"s), 2);
  EXPECT_EQ(decodeStatus(""s), 0) << "proto3: absent means UNKNOWN";
  // Unknown fields of every wire type before it: varint, 64-bit, bytes, 32-bit.
  EXPECT_EQ(decodeStatus("\x10\x05\x19"s + std::string(8, 'x') +
                         "\x22\x02hi\x2D\x01\x02\x03\x04\x08\x01"s),
            1);
  EXPECT_FALSE(decodeStatus("\x08"s)) << "cut varint";
  EXPECT_FALSE(
      decodeStatus("\x0A\x05"
                   "ab"s))
      << "length past the end";
  EXPECT_FALSE(decodeStatus("\x0B"s)) << "a group";
  EXPECT_FALSE(decodeStatus("\x00\x01"s)) << "field 0";
}

TEST(GrpcHealthCodec, AMessageIsTakenOutOfDataInAnyPieces) {
  std::string framed = "\x00\x00\x00\x00\x02\x08\x01"s;
  for (size_t cut = 0; cut <= framed.size(); ++cut) {
    ResponseMessage response;
    ASSERT_TRUE(response.append(framed.substr(0, cut)));
    if (cut < framed.size()) {
      EXPECT_FALSE(response.message()) << cut;
    }
    ASSERT_TRUE(response.append(framed.substr(cut)));
    ASSERT_TRUE(response.message()) << cut;
    EXPECT_EQ(*response.message(), "\x08\x01"s);
  }
  ResponseMessage compressed;
  EXPECT_FALSE(compressed.append("\x01\x00\x00\x00\x02\x08\x01"s));
  EXPECT_FALSE(compressed.message());
  ResponseMessage huge;
  EXPECT_FALSE(huge.append("\x00\x7F\xFF\xFF\xFF"s));
}

TEST(GrpcHealthCodec, EveryVerdict) {
  auto reason = [](std::optional<int> status, std::optional<std::string_view> message) {
    return verdict(status, "", message).reason;
  };
  EXPECT_EQ(reason(0, "\x08\x01"s), "ok");
  EXPECT_EQ(reason(0, "\x08\x02"s), "grpc_not_serving");
  EXPECT_EQ(reason(0, ""s), "grpc_not_serving") << "UNKNOWN";
  EXPECT_EQ(reason(0, "\x08\x03"s), "grpc_unknown_service");
  EXPECT_EQ(reason(5, std::nullopt), "grpc_unknown_service");
  EXPECT_EQ(reason(12, std::nullopt), "grpc_status_12");
  EXPECT_EQ(reason(std::nullopt, "\x08\x01"s), "grpc_malformed");
  EXPECT_EQ(reason(0, std::nullopt), "grpc_malformed");
  EXPECT_EQ(reason(0, "\x0B"s), "grpc_malformed");
  EXPECT_EQ(verdict(14, "connection refused upstream", std::nullopt).message,
            "connection refused upstream");
}

}  // namespace
}  // namespace readygate::grpc_health
