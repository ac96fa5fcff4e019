// isGrpcRequest and grpcStatusForLocalAnswer: what a gRPC client is told when readygate
// answers a request itself.
#include "proxy/http/grpc_status.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

MessageHead withContentType(std::string type) {
  MessageHead head;
  head.headers.push_back({"content-type", std::move(type)});
  return head;
}

TEST(GrpcStatus, GrpcRequestsAreKnownByTheirContentType) {
  EXPECT_TRUE(isGrpcRequest(withContentType("application/grpc")));
  EXPECT_TRUE(isGrpcRequest(withContentType("application/grpc+proto")));
  EXPECT_TRUE(isGrpcRequest(withContentType("Application/GRPC;charset=utf-8")));
  EXPECT_FALSE(isGrpcRequest(withContentType("application/grpc-web")));
  EXPECT_FALSE(isGrpcRequest(withContentType("application/json")));
  EXPECT_FALSE(isGrpcRequest(withContentType("application/grp")));
  EXPECT_FALSE(isGrpcRequest(MessageHead{}));
}

TEST(GrpcStatus, ReadygatesOwnAnswersMapToTheStatusesAClientActsOn) {
  EXPECT_EQ(grpcStatusForLocalAnswer(503).code, 14);  // no ready backend: UNAVAILABLE
  EXPECT_EQ(grpcStatusForLocalAnswer(502).code, 14);
  EXPECT_EQ(grpcStatusForLocalAnswer(421).code, 14);
  EXPECT_EQ(grpcStatusForLocalAnswer(504).code, 4);   // DEADLINE_EXCEEDED
  EXPECT_EQ(grpcStatusForLocalAnswer(408).code, 4);
  EXPECT_EQ(grpcStatusForLocalAnswer(413).code, 8);   // RESOURCE_EXHAUSTED
  EXPECT_EQ(grpcStatusForLocalAnswer(429).code, 8);
  EXPECT_EQ(grpcStatusForLocalAnswer(404).code, 12);  // UNIMPLEMENTED
  EXPECT_EQ(grpcStatusForLocalAnswer(400).code, 13);  // INTERNAL
  EXPECT_EQ(grpcStatusForLocalAnswer(401).code, 16);
  EXPECT_EQ(grpcStatusForLocalAnswer(403).code, 7);
  EXPECT_EQ(grpcStatusForLocalAnswer(500).code, 2);   // UNKNOWN
  EXPECT_EQ(grpcStatusForLocalAnswer(503).name, "UNAVAILABLE");
}

TEST(GrpcTimeout, EveryUnitIsReadAndAnythingElseIsNotATimeout) {
  EXPECT_DOUBLE_EQ(*grpcTimeoutSeconds("2H"), 7200);
  EXPECT_DOUBLE_EQ(*grpcTimeoutSeconds("3M"), 180);
  EXPECT_DOUBLE_EQ(*grpcTimeoutSeconds("5S"), 5);
  EXPECT_DOUBLE_EQ(*grpcTimeoutSeconds("250m"), 0.25);
  EXPECT_DOUBLE_EQ(*grpcTimeoutSeconds("1500u"), 0.0015);
  EXPECT_DOUBLE_EQ(*grpcTimeoutSeconds("99999999n"), 0.099999999);
  for (const char* bad : {"", "S", "5", "5s", "-5S", "5.5S", "123456789S", " 5S", "5 S"}) {
    EXPECT_FALSE(grpcTimeoutSeconds(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace readygate
