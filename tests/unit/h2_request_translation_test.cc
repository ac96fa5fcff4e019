// translateH2Request: every RFC 9113 rule that keeps an h2 request from smuggling itself to
// an HTTP/1.1 backend, and the head it makes.
#include "proxy/http/h2_request_translation.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

std::vector<HeaderField> request(std::vector<HeaderField> extra = {}) {
  std::vector<HeaderField> fields{{":method", "GET"},
                                  {":scheme", "https"},
                                  {":path", "/a?b=1"},
                                  {":authority", "shop.example.com"}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

std::string refused(const std::vector<HeaderField>& fields, bool endStream = true) {
  auto result = translateH2Request(fields, endStream);
  if (auto* error = std::get_if<H2StreamError>(&result)) {
    EXPECT_EQ(error->code, 1u);  // PROTOCOL_ERROR
    return error->reason;
  }
  return "accepted";
}

const std::string* field(const MessageHead& head, const std::string& name) {
  return head.find(name);
}

TEST(H2RequestTranslation, AGoodRequestBecomesAnHttp11HeadWithHostFirst) {
  auto result = translateH2Request(request({{"accept", "*/*"}, {"user-agent", "h2"}}), true);
  ASSERT_TRUE(std::holds_alternative<MessageHead>(result)) << std::get<H2StreamError>(result).reason;
  const MessageHead& head = std::get<MessageHead>(result);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/a?b=1");
  EXPECT_EQ(head.versionMinor, 1);
  ASSERT_EQ(head.headers.size(), 3u);
  EXPECT_EQ(head.headers[0].name, "host");
  EXPECT_EQ(head.headers[0].value, "shop.example.com");
  EXPECT_FALSE(head.chunked);
  EXPECT_FALSE(head.contentLength);
}

TEST(H2RequestTranslation, PseudoHeadersOnceEachKnownFirstAndComplete) {
  EXPECT_EQ(refused({{":method", "GET"}, {":path", "/"}, {":authority", "a"}}),
            "missing_pseudo_header");
  EXPECT_EQ(refused({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}}),
            "missing_pseudo_header");
  EXPECT_EQ(refused(request({{"accept", "*/*"}, {":scheme", "http"}})), "pseudo_header_after_field");
  auto repeated = request();
  repeated.insert(repeated.begin() + 1, HeaderField{":method", "POST"});
  EXPECT_EQ(refused(repeated), "repeated_pseudo_header");
  auto unknown = request();
  unknown.insert(unknown.begin(), HeaderField{":protocol", "websocket"});
  EXPECT_EQ(refused(unknown), "unknown_pseudo_header");
  EXPECT_EQ(refused({{":method", "CONNECT"}, {":authority", "a:443"}}), "connect");
  EXPECT_EQ(refused({{":method", "G ET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"}}),
            "method");
  EXPECT_EQ(refused({{":method", "GET"}, {":scheme", "ftp"}, {":path", "/"}, {":authority", "a"}}),
            "scheme");
  EXPECT_EQ(refused({{":method", "GET"}, {":scheme", "http"}, {":path", ""}, {":authority", "a"}}),
            "path");
  EXPECT_EQ(refused({{":method", "GET"}, {":scheme", "http"}, {":path", "http://x/"},
                     {":authority", "a"}}),
            "path");
  EXPECT_EQ(refused({{":method", "GET"}, {":scheme", "http"}, {":path", "/a b"},
                     {":authority", "a"}}),
            "path");
  EXPECT_EQ(refused({{":method", "GET"}, {":scheme", "http"}, {":path", "*"}, {":authority", "a"}}),
            "path");
  EXPECT_EQ(refused({{":method", "OPTIONS"}, {":scheme", "http"}, {":path", "*"},
                     {":authority", "a"}}),
            "accepted");
}

TEST(H2RequestTranslation, FieldNamesAreLowercaseTokensAndValuesHaveNoLineBreaksOrNul) {
  EXPECT_EQ(refused(request({{"Accept", "*/*"}})), "field_name");
  EXPECT_EQ(refused(request({{"x y", "1"}})), "field_name");
  EXPECT_EQ(refused(request({{"", "1"}})), "field_name");
  EXPECT_EQ(refused(request({{"x-a", "1\r\nx-injected: 2"}})), "field_value_character");
  EXPECT_EQ(refused(request({{"x-a", "1\n"}})), "field_value_character");
  EXPECT_EQ(refused(request({{"x-a", std::string("1\0", 2)}})), "field_value_character");
  auto inPath = request();
  inPath[2].value = "/a\r\nHost: evil";
  EXPECT_EQ(refused(inPath), "field_value_character");
}

TEST(H2RequestTranslation, ConnectionSpecificFieldsAndTeOtherThanTrailersAreRefused) {
  for (const char* name :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
    EXPECT_EQ(refused(request({{name, "x"}})), "connection_specific_field") << name;
  }
  EXPECT_EQ(refused(request({{"te", "gzip"}})), "te_not_trailers");
  EXPECT_EQ(refused(request({{"te", "trailers, gzip"}})), "te_not_trailers");
  auto result = translateH2Request(request({{"te", "trailers"}}), true);
  ASSERT_TRUE(std::holds_alternative<MessageHead>(result));
  // Kept for an HTTP/2 backend (gRPC needs it); the HTTP/1 writer drops it as hop-by-hop.
  ASSERT_NE(field(std::get<MessageHead>(result), "te"), nullptr);
  EXPECT_EQ(*field(std::get<MessageHead>(result), "te"), "trailers");
}

TEST(H2RequestTranslation, HostAndAuthorityMustAgreeAndOneOfThemIsNeeded) {
  EXPECT_EQ(refused(request({{"host", "evil.example.com"}})), "host_authority_mismatch");
  EXPECT_EQ(refused(request({{"host", "SHOP.example.com"}})), "accepted");
  EXPECT_EQ(refused(request({{"host", "shop.example.com"}, {"host", "shop.example.com"}})),
            "repeated_host");
  auto withoutAuthority = request({{"host", "api.example.com"}});
  withoutAuthority.erase(withoutAuthority.begin() + 3);
  auto result = translateH2Request(withoutAuthority, true);
  ASSERT_TRUE(std::holds_alternative<MessageHead>(result));
  EXPECT_EQ(std::get<MessageHead>(result).headers[0].value, "api.example.com");
  auto neither = request();
  neither.pop_back();
  EXPECT_EQ(refused(neither), "no_authority");
  auto userinfo = request();
  userinfo[3].value = "user@shop.example.com";
  EXPECT_EQ(refused(userinfo), "authority");
}

TEST(H2RequestTranslation, OneDigitsOnlyContentLengthOrChunkedForABodyOfUnknownLength) {
  EXPECT_EQ(refused(request({{"content-length", "5"}, {"content-length", "5"}}), false),
            "repeated_content_length");
  EXPECT_EQ(refused(request({{"content-length", "-1"}}), false), "content_length");
  EXPECT_EQ(refused(request({{"content-length", "5, 5"}}), false), "content_length");
  EXPECT_EQ(refused(request({{"content-length", ""}}), false), "content_length");
  EXPECT_EQ(refused(request({{"content-length", "99999999999999999999"}}), false),
            "content_length");
  auto sized = translateH2Request(request({{"content-length", "5"}}), false);
  ASSERT_TRUE(std::holds_alternative<MessageHead>(sized));
  EXPECT_EQ(std::get<MessageHead>(sized).contentLength, 5u);
  EXPECT_FALSE(std::get<MessageHead>(sized).chunked);
  auto streamed = translateH2Request(request(), false);
  ASSERT_TRUE(std::holds_alternative<MessageHead>(streamed));
  EXPECT_TRUE(std::get<MessageHead>(streamed).chunked);
  ASSERT_NE(field(std::get<MessageHead>(streamed), "transfer-encoding"), nullptr);
  EXPECT_EQ(*field(std::get<MessageHead>(streamed), "transfer-encoding"), "chunked");
}

TEST(H2RequestTranslation, SplitCookiesAreJoinedWithSemicolonSpace) {
  auto result = translateH2Request(
      request({{"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}, {"cookie", "c=3"}}), true);
  ASSERT_TRUE(std::holds_alternative<MessageHead>(result));
  const MessageHead& head = std::get<MessageHead>(result);
  ASSERT_NE(field(head, "cookie"), nullptr);
  EXPECT_EQ(*field(head, "cookie"), "a=1; b=2; c=3");
  size_t cookies = 0;
  for (const HeaderField& header : head.headers) cookies += header.name == "cookie";
  EXPECT_EQ(cookies, 1u);
}

}  // namespace
}  // namespace readygate
