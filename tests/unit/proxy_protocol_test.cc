// The PROXY protocol codec: v1 and v2 headers whole, in pieces and broken, and what we send.
#include "proxy/transport/proxy_protocol.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

using Status = ProxyHeaderParse::Status;

std::string v2Header(unsigned char command, unsigned char family, const std::string& body) {
  std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
  header += static_cast<char>(0x20 | command);
  header += static_cast<char>(family);
  header += static_cast<char>(body.size() >> 8);
  header += static_cast<char>(body.size() & 0xff);
  return header + body;
}

TEST(ProxyProtocol, V1GivesTheClientAndOnlyTheHeaderIsTaken) {
  std::string stream = "PROXY TCP4 203.0.113.7 10.0.0.1 41000 443\r\nGET / HTTP/1.1\r\n";
  ProxyHeaderParse parse = parseProxyHeader(stream, ProxyProtocolVersions::Any);
  ASSERT_EQ(parse.status, Status::Done) << parse.error;
  EXPECT_EQ(parse.length, stream.find("GET"));
  EXPECT_TRUE(parse.header.hasAddresses);
  EXPECT_EQ(parse.header.source.toString(), "203.0.113.7:41000");
  EXPECT_EQ(parse.header.destination.toString(), "10.0.0.1:443");
  ProxyHeaderParse six =
      parseProxyHeader("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n", ProxyProtocolVersions::V1);
  ASSERT_EQ(six.status, Status::Done);
  EXPECT_EQ(six.header.source.toString(), "[2001:db8::1]:1");
  ProxyHeaderParse unknown = parseProxyHeader("PROXY UNKNOWN whatever\r\n", ProxyProtocolVersions::Any);
  ASSERT_EQ(unknown.status, Status::Done);
  EXPECT_FALSE(unknown.header.hasAddresses) << "UNKNOWN: the socket's addresses stand";
}

TEST(ProxyProtocol, EveryPrefixOfAHeaderAsksForMore) {
  std::string v1 = "PROXY TCP4 203.0.113.7 10.0.0.1 41000 443\r\n";
  std::string body(12, '\0');
  body[0] = 10;
  std::string v2 = v2Header(1, 0x11, body);
  for (const std::string& header : {v1, v2}) {
    for (size_t length = 0; length < header.size(); ++length) {
      EXPECT_EQ(parseProxyHeader(header.substr(0, length), ProxyProtocolVersions::Any).status,
                Status::NeedMore)
          << length;
    }
    EXPECT_EQ(parseProxyHeader(header, ProxyProtocolVersions::Any).status, Status::Done);
  }
}

TEST(ProxyProtocol, BadHeadersAreRefused) {
  for (const char* text : {
           "GET / HTTP/1.1\r\n",                              // no header at all
           "PROXY TCP4 203.0.113.7 10.0.0.1 41000\r\n",       // a field short
           "PROXY TCP4 203.0.113.7 10.0.0.1 41000 99999\r\n",  // port out of range
           "PROXY TCP4 203.0.113.7 10.0.0.1 041000 443\r\n",  // leading zero
           "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",         // family mismatch
           "PROXY UDP4 203.0.113.7 10.0.0.1 1 2\r\n",         // not a TCP protocol
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",                // LF without CR
       }) {
    EXPECT_EQ(parseProxyHeader(text, ProxyProtocolVersions::Any).status, Status::Invalid) << text;
  }
  EXPECT_EQ(parseProxyHeader(std::string(200, 'P').insert(0, "PROXY "), ProxyProtocolVersions::Any)
                .status,
            Status::Invalid)
      << "longer than v1's 107 bytes without an end";
  EXPECT_EQ(parseProxyHeader("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyProtocolVersions::V2).status,
            Status::Invalid)
      << "v1 where only v2 is accepted";
  std::string v2 = v2Header(1, 0x11, std::string(12, '\0'));
  EXPECT_EQ(parseProxyHeader(v2, ProxyProtocolVersions::V1).status, Status::Invalid);
  std::string wrongVersion = v2;
  wrongVersion[12] = 0x31;
  EXPECT_EQ(parseProxyHeader(wrongVersion, ProxyProtocolVersions::Any).status, Status::Invalid);
  EXPECT_EQ(parseProxyHeader(v2Header(1, 0x11, std::string(4, '\0')), ProxyProtocolVersions::Any)
                .status,
            Status::Invalid)
      << "too short for its addresses";
  std::string huge = v2Header(1, 0x11, "");
  huge[14] = '\x7f';  // 32 KiB of TLVs announced
  EXPECT_EQ(parseProxyHeader(huge, ProxyProtocolVersions::Any).status, Status::Invalid);
}

TEST(ProxyProtocol, V2LocalAndTlvs) {
  ProxyHeaderParse local = parseProxyHeader(v2Header(0, 0, ""), ProxyProtocolVersions::V2);
  ASSERT_EQ(local.status, Status::Done);
  EXPECT_FALSE(local.header.hasAddresses) << "LOCAL: the balancer's own health check";
  std::string body(12, '\0');
  body[0] = 198; body[1] = 51; body[2] = 100; body[3] = 9;
  body[4] = 10; body[7] = 1;
  body[8] = 0x1f; body[9] = 0x90;  // 8080
  body[10] = 0x01; body[11] = 0xbb;  // 443
  body += std::string("\x04\x00\x02zz", 5);  // a NOOP TLV, skipped
  ProxyHeaderParse parse = parseProxyHeader(v2Header(1, 0x11, body) + "after", ProxyProtocolVersions::Any);
  ASSERT_EQ(parse.status, Status::Done);
  EXPECT_EQ(parse.length, 16 + body.size());
  EXPECT_EQ(parse.header.source.toString(), "198.51.100.9:8080");
  EXPECT_EQ(parse.header.destination.toString(), "10.0.0.1:443");
}

TEST(ProxyProtocol, WhatWeSendIsWhatWeRead) {
  auto address = [](const char* text) { return std::get<SocketAddress>(SocketAddress::parse(text)); };
  for (const auto& [from, to] : {std::pair{"203.0.113.7:41000", "10.0.0.1:443"},
                                 std::pair{"[2001:db8::7]:1", "[::1]:8443"}}) {
    for (bool v2 : {false, true}) {
      std::string header = v2 ? proxyHeaderV2(address(from), address(to))
                              : proxyHeaderV1(address(from), address(to));
      ProxyHeaderParse parse = parseProxyHeader(header, ProxyProtocolVersions::Any);
      ASSERT_EQ(parse.status, Status::Done) << header;
      EXPECT_EQ(parse.length, header.size());
      EXPECT_EQ(parse.header.source.toString(), address(from).toString());
      EXPECT_EQ(parse.header.destination.toString(), address(to).toString());
    }
  }
  EXPECT_EQ(proxyHeaderV1(address("1.2.3.4:1"), address("[::1]:2")), "PROXY UNKNOWN\r\n");
}

}  // namespace
}  // namespace readygate
