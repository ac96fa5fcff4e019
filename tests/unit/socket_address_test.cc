// SocketAddress parsing and printing for IPv4 and IPv6.
#include "proxy/core/socket_address.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

TEST(SocketAddress, ParsesAndPrintsIPv4AndIPv6) {
  auto v4 = std::get<SocketAddress>(SocketAddress::parse("10.1.2.3:8080"));
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_EQ(v4.port(), 8080);
  EXPECT_EQ(v4.host(), "10.1.2.3");
  EXPECT_EQ(v4.toString(), "10.1.2.3:8080");

  auto v6 = std::get<SocketAddress>(SocketAddress::parse("[::1]:443"));
  EXPECT_EQ(v6.family(), AF_INET6);
  EXPECT_EQ(v6.port(), 443);
  EXPECT_EQ(v6.host(), "::1");
  EXPECT_EQ(v6.toString(), "[::1]:443");

  auto any = std::get<SocketAddress>(SocketAddress::parse("*:80"));
  EXPECT_EQ(any.toString(), "0.0.0.0:80");
  EXPECT_EQ(v4.withPort(9).toString(), "10.1.2.3:9");
}

TEST(SocketAddress, RejectsMalformed) {
  for (const char* text : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4:65536", "1.2.3.4:80a",
                           "[::1]", "[::1]80", "::1:80", "host:80", "1.2.3:80"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(SocketAddress::parse(text))) << text;
  }
}

}  // namespace
}  // namespace readygate
