// Routes as Ingress reads them: exact host over wildcard over any, longest prefix on segments.
#include "config/route_match.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace readygate {
namespace {

std::vector<RouteConfig> routes() {
  return {
      {"", "/", "default"},                   // 0
      {"", "/api", "api"},                    // 1
      {"", "/api/v2", "api-v2"},              // 2
      {"*.example.com", "/", "wild"},         // 3
      {"shop.example.com", "/", "shop"},      // 4
      {"shop.example.com", "/cart", "cart"},  // 5
  };
}

TEST(RouteMatch, IngressPrecedence) {
  struct Case {
    const char* host;
    const char* path;
    int route;
  };
  const Case cases[] = {
      {"other.org", "/", 0},
      {"other.org", "/api", 1},
      {"other.org", "/api/", 1},
      {"other.org", "/api/users?id=3", 1},
      {"other.org", "/apis", 0},  // segment boundary: /api does not take /apis
      {"other.org", "/api/v2/x", 2},
      {"other.org", "/api/v20", 1},
      {"a.example.com", "/api", 3},             // any host with a prefix loses to a matching host
      {"a.b.example.com", "/", 0},              // the wildcard is one label
      {"example.com", "/", 0},                  // and not the bare domain
      {"shop.example.com", "/", 4},             // exact beats wildcard
      {"SHOP.Example.COM:8080", "/cart/1", 5},  // case and port do not matter
      {"shop.example.com.", "/x", 4},           // nor a trailing dot
  };
  for (const Case& c : cases) {
    EXPECT_EQ(matchRoute(routes(), c.host, c.path), c.route) << c.host << c.path;
  }
  EXPECT_EQ(matchRoute({{"api.example.com", "/", "api"}}, "web.example.com", "/"), -1);
}

// Issue 17, finding 7: routes compare a normalized path, so an attacker cannot walk
// around a prefix route with dot segments, escapes or doubled slashes.
TEST(RouteMatch, PathsAreNormalizedForMatchingOnly) {
  EXPECT_EQ(normalizePathForMatching("/x/../api"), "/api");
  EXPECT_EQ(normalizePathForMatching("/%61pi"), "/api");
  EXPECT_EQ(normalizePathForMatching("/%61PI/%7e"), "/aPI/~");
  EXPECT_EQ(normalizePathForMatching("//api"), "/api");
  EXPECT_EQ(normalizePathForMatching("/./api"), "/api");
  EXPECT_EQ(normalizePathForMatching("/api/../x"), "/x");
  EXPECT_EQ(normalizePathForMatching("/x/%2e%2e/api"), "/api");
  EXPECT_EQ(normalizePathForMatching("/api%2Fx"), "/api%2Fx");  // reserved: stays encoded
  EXPECT_EQ(normalizePathForMatching("/api%2fx"), "/api%2Fx");
  EXPECT_EQ(normalizePathForMatching("/a/b/../../../.."), "/");
  EXPECT_EQ(normalizePathForMatching("/api/."), "/api/");
  EXPECT_EQ(normalizePathForMatching("/api?x=/../y"), "/api");
  EXPECT_EQ(normalizePathForMatching("/bad%zzescape%4"), "/bad%zzescape%4");
  EXPECT_EQ(normalizePathForMatching(""), "/");
  EXPECT_EQ(normalizePathForMatching("*"), "/*");
  std::vector<RouteConfig> table = {{"", "/", "default"}, {"", "/api", "api"}};
  for (const char* walk : {"/x/../api", "/%61pi", "//api", "/./api"}) {
    EXPECT_EQ(matchRoute(table, "h", normalizePathForMatching(walk)), 1) << walk;
  }
  EXPECT_EQ(matchRoute(table, "h", normalizePathForMatching("/api/../x")), 0);
}

TEST(RouteConfigCheck, MistakesAreExplained) {
  auto errorsOf = [](const std::string& services) {
    std::string all;
    for (const ConfigError& error : loadConfigText("services:\n" + services).errors) {
      all += error.toString() + "\n";
    }
    return all;
  };
  std::string base = R"(  - name: front
    listen: 127.0.0.1:8080
    mode: http
    routes:
)";
  EXPECT_NE(errorsOf(base + R"(      - {pathPrefix: /a, service: nope}
)")
                .find("routes[0].service: \"nope\": no such service"),
            std::string::npos);
  EXPECT_NE(errorsOf(base + R"(      - {pathPrefix: /a, service: tcp}
  - {name: tcp, listen: 127.0.0.1:8081, endpoints: {static: ["127.0.0.1:1"]}}
)")
                .find("must be mode: http"),
            std::string::npos);
  EXPECT_NE(errorsOf(base + R"(      - {host: a.example.com, pathPrefix: /x, service: front}
      - {host: A.example.com, pathPrefix: /x/, service: front}
)")
                .find("duplicate route"),
            std::string::npos);
  EXPECT_NE(errorsOf(base + R"(      - {host: "a.example.com:80", service: front}
)")
                .find("without port"),
            std::string::npos);
  EXPECT_NE(errorsOf(base + R"(      - {pathPrefix: api, service: front}
)")
                .find("starting with '/'"),
            std::string::npos);
  EXPECT_NE(errorsOf(R"(  - {name: lonely, mode: http, endpoints: {static: ["127.0.0.1:1"]}}
)")
                .find("needs listen, or a route to it"),
            std::string::npos);
  // A router without backends of its own, and a target without a listener: valid.
  EXPECT_EQ(errorsOf(base + R"(      - {host: api.example.com, service: api}
  - {name: api, mode: http, endpoints: {static: ["127.0.0.1:1"]}}
)"),
            "");
}

}  // namespace
}  // namespace readygate
