// SocketAddress parsing and printing for IPv4 and IPv6, and Cidr networks.
#include "proxy/core/socket_address.h"

#include <gtest/gtest.h>

#include <cstring>

#include "proxy/core/cidr.h"

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

namespace readygate {
namespace {

TEST(Cidr, ContainsByPrefix) {
  auto address = [](const char* text) {
    return std::get<SocketAddress>(SocketAddress::parse(text));
  };
  auto net = [](const char* text) { return std::get<Cidr>(Cidr::parse(text)); };
  EXPECT_TRUE(net("10.0.0.0/8").contains(address("10.200.3.4:80")));
  EXPECT_FALSE(net("10.0.0.0/8").contains(address("11.0.0.1:80")));
  EXPECT_TRUE(net("127.0.0.1").contains(address("127.0.0.1:1")));
  EXPECT_FALSE(net("127.0.0.1").contains(address("127.0.0.2:1")));
  EXPECT_TRUE(net("2001:db8::/32").contains(address("[2001:db8:1::5]:443")));
  EXPECT_FALSE(net("2001:db8::/32").contains(address("127.0.0.1:443")));
  EXPECT_TRUE(net("0.0.0.0/0").contains(address("1.2.3.4:5")));
  EXPECT_TRUE(std::holds_alternative<std::string>(Cidr::parse("10.0.0.1/8")));  // host bits
  EXPECT_TRUE(std::holds_alternative<std::string>(Cidr::parse("10.0.0.0/33")));
  EXPECT_TRUE(std::holds_alternative<std::string>(Cidr::parse("example.com/8")));
}

TEST(SocketAddress, ListenersOverlapOnTheSamePortWhenOneIsTheWildcard) {
  auto at = [](const char* text) { return std::get<SocketAddress>(SocketAddress::parse(text)); };
  EXPECT_TRUE(at("0.0.0.0:80").overlapsListener(at("127.0.0.1:80")));
  EXPECT_TRUE(at("127.0.0.1:80").overlapsListener(at("0.0.0.0:80")));
  EXPECT_TRUE(at("127.0.0.1:80").overlapsListener(at("127.0.0.1:80")));
  EXPECT_TRUE(at("[::]:80").overlapsListener(at("[::1]:80")));
  EXPECT_FALSE(at("127.0.0.1:80").overlapsListener(at("127.0.0.2:80")));
  EXPECT_FALSE(at("0.0.0.0:80").overlapsListener(at("0.0.0.0:81")));
  EXPECT_FALSE(at("0.0.0.0:80").overlapsListener(at("[::]:80")));  // [::] is IPv6 only
}

// An address is 32 bytes, not 136 around a sockaddr_storage: a family it cannot hold comes out
// empty, never truncated; IPv4 and IPv6 round-trip through a kernel-sized sockaddr.
TEST(SocketAddress, HoldsIpAddressesOnlyAndIsSmall) {
  static_assert(sizeof(SocketAddress) <= 32);
  sockaddr_storage unix{};
  unix.ss_family = AF_UNIX;
  EXPECT_EQ(SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&unix), sizeof unix).length(),
            0u);
  SocketAddress v6 = std::get<SocketAddress>(SocketAddress::parse("[2001:db8::1]:8443"));
  sockaddr_storage copy{};
  std::memcpy(&copy, v6.sockaddrPtr(), v6.length());
  SocketAddress back = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&copy), sizeof copy);
  EXPECT_EQ(back, v6);
  EXPECT_EQ(back.toString(), "[2001:db8::1]:8443");
  EXPECT_EQ(SocketAddress::fromSockaddr(v6.sockaddrPtr(), 8).length(), 0u);  // cut short
}

}  // namespace
}  // namespace readygate
