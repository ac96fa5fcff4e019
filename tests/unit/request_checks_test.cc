// Request head checks without I/O: Host rules, absolute form, Connection-named fields, and
// which 101 answers which request.
#include "proxy/http/request_checks.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

MessageHead request(std::string target, std::vector<HeaderField> headers, int minor = 1) {
  MessageHead head;
  head.method = "GET";
  head.target = std::move(target);
  head.versionMinor = minor;
  head.headers = std::move(headers);
  return head;
}

TEST(RequestChecks, HostMustBeThereOnceAndValid) {
  MessageHead two = request("/", {{"Host", "a"}, {"host", "b"}});
  EXPECT_EQ(prepareRequest(two), "duplicate_host");
  MessageHead none = request("/", {});
  EXPECT_EQ(prepareRequest(none), "missing_host");
  MessageHead old = request("/", {}, 0);
  EXPECT_EQ(prepareRequest(old), std::nullopt);  // HTTP/1.0 may omit it
  for (const char* bad : {"a b", "a/b", "a:b:c", "[::1", "[zz]", "a:99999999", "a@b", "a:"}) {
    MessageHead head = request("/", {{"Host", bad}});
    EXPECT_EQ(prepareRequest(head), "invalid_host") << bad;
  }
  for (const char* good : {"example.com", "example.com:8080", "127.0.0.1", "[::1]:80", "[::1]",
                           "xn--bcher-kva.example", "a_b.example", ""}) {
    MessageHead head = request("/", {{"Host", good}});
    EXPECT_EQ(prepareRequest(head), std::nullopt) << good;
  }
}

TEST(RequestChecks, AnAbsoluteFormTargetBecomesOriginFormWithItsAuthorityAsHost) {
  MessageHead head = request("http://api.example.com/v1/x?q=1", {{"Host", "other"}});
  ASSERT_EQ(prepareRequest(head), std::nullopt);
  EXPECT_EQ(head.target, "/v1/x?q=1");
  EXPECT_EQ(*head.find("Host"), "api.example.com");
  MessageHead bare = request("HTTPS://api.example.com:8443", {});
  ASSERT_EQ(prepareRequest(bare), std::nullopt);
  EXPECT_EQ(bare.target, "/");
  EXPECT_EQ(*bare.find("Host"), "api.example.com:8443");
  MessageHead query = request("http://a.example?x", {{"Host", "a.example"}});
  ASSERT_EQ(prepareRequest(query), std::nullopt);
  EXPECT_EQ(query.target, "/?x");
  MessageHead ftp = request("ftp://a/x", {{"Host", "a"}});
  EXPECT_EQ(prepareRequest(ftp), "invalid_target");
  MessageHead userinfo = request("http://user@a/x", {{"Host", "a"}});
  EXPECT_EQ(prepareRequest(userinfo), "invalid_host");
  MessageHead star = request("*", {{"Host", "a"}});
  EXPECT_EQ(prepareRequest(star), std::nullopt);
}

TEST(RequestChecks, ConnectionNamedFieldsGoButHostAndUpgradeStay) {
  MessageHead head = request("/", {{"Host", "a"},
                                   {"Connection", "Host, X-Request-Id, upgrade"},
                                   {"X-Request-Id", "client"},
                                   {"Upgrade", "websocket"},
                                   {"X-Other", "kept"}});
  head.upgrade = true;
  ASSERT_EQ(prepareRequest(head), std::nullopt);
  EXPECT_NE(head.find("Host"), nullptr);
  EXPECT_EQ(head.find("X-Request-Id"), nullptr);
  EXPECT_NE(head.find("Upgrade"), nullptr);
  EXPECT_NE(head.find("X-Other"), nullptr);
  head.upgrade = false;
  MessageHead plain = request("/", {{"Host", "a"}, {"Connection", "upgrade"}, {"Upgrade", "x"}});
  ASSERT_EQ(prepareRequest(plain), std::nullopt);
  EXPECT_EQ(plain.find("Upgrade"), nullptr);
}

TEST(RequestChecks, A101MustNameAProtocolTheRequestOffered) {
  MessageHead asked = request("/", {{"Host", "a"}, {"Upgrade", "websocket, foo/2"}});
  asked.upgrade = true;
  MessageHead answer;
  answer.status = 101;
  answer.headers = {{"Upgrade", "WebSocket"}};
  EXPECT_TRUE(upgradeAccepted(asked, answer));
  answer.headers = {{"Upgrade", "foo/3"}};
  EXPECT_TRUE(upgradeAccepted(asked, answer));  // compared by name
  answer.headers = {{"Upgrade", "h2c"}};
  EXPECT_FALSE(upgradeAccepted(asked, answer));
  answer.headers = {};
  EXPECT_FALSE(upgradeAccepted(asked, answer));
  MessageHead notAsked = request("/", {{"Host", "a"}});
  answer.headers = {{"Upgrade", "websocket"}};
  EXPECT_FALSE(upgradeAccepted(notAsked, answer));
}

TEST(RequestChecks, H2cIsRecognisedInAnyPosition) {
  EXPECT_TRUE(offersH2c(request("/", {{"Upgrade", "h2c"}})));
  EXPECT_TRUE(offersH2c(request("/", {{"Upgrade", "websocket, H2C"}})));
  EXPECT_FALSE(offersH2c(request("/", {{"Upgrade", "websocket"}})));
  EXPECT_FALSE(offersH2c(request("/", {})));
}

}  // namespace
}  // namespace readygate
