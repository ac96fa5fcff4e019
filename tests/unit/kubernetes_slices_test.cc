// EndpointSlices: the watch stream's object boundaries, the API's messages, and the
// discovery/v1 rules for conditions, duplicates, ports and address types.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/discovery/endpoint_slice.h"
#include "proxy/discovery/json_object_stream.h"
#include "proxy/discovery/kubernetes_messages.h"

namespace readygate {
namespace {

using nlohmann::json;

// --- JsonObjectStream ---

TEST(JsonObjectStream, ObjectsComeOutWholeWhereverTheChunksAreCut) {
  const std::string stream =
      "{\"type\":\"ADDED\",\"object\":{\"a\":\"}{\\\"]\",\"b\":[1,{\"c\":2}]}}\n"
      "  {\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}"
      "{\"s\":\"\\\\\"}\r\n";
  const std::vector<std::string> expected = {
      "{\"type\":\"ADDED\",\"object\":{\"a\":\"}{\\\"]\",\"b\":[1,{\"c\":2}]}}",
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}",
      "{\"s\":\"\\\\\"}"};
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    JsonObjectStream reader(1 << 20);
    std::vector<std::string> objects;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      for (std::string& object : reader.feed(std::string_view(stream).substr(at, chunk))) {
        objects.push_back(std::move(object));
      }
    }
    EXPECT_FALSE(reader.failed()) << "chunk " << chunk << ": " << reader.error();
    EXPECT_EQ(objects, expected) << "chunk " << chunk;
    EXPECT_EQ(reader.pending(), 0u);
  }
}

TEST(JsonObjectStream, AnythingButAnObjectBetweenObjectsFailsTheStreamForGood) {
  JsonObjectStream reader(1 << 20);
  EXPECT_EQ(reader.feed("{\"a\":1}").size(), 1u);
  EXPECT_TRUE(reader.feed("[1]").empty());
  EXPECT_TRUE(reader.failed());
  EXPECT_TRUE(reader.feed("{\"b\":2}").empty());  // failed stays failed
}

TEST(JsonObjectStream, AnObjectOverTheSizeOrDepthLimitFails) {
  JsonObjectStream small(16);
  EXPECT_TRUE(small.feed("{\"a\":\"0123456789abcdef").empty());
  EXPECT_TRUE(small.failed());  // still open, and already over the limit

  JsonObjectStream deep(1 << 20);
  std::string nested(JsonObjectStream::kMaxDepth + 1, '[');
  EXPECT_TRUE(deep.feed("{\"a\":" + nested).empty());
  EXPECT_TRUE(deep.failed());
}

// --- slices ---

json endpoint(std::vector<std::string> addresses, json conditions = json::object()) {
  return {{"addresses", addresses},
          {"conditions", conditions},
          {"targetRef", {{"kind", "Pod"}, {"name", "web-" + addresses.front()}}},
          {"nodeName", "node-1"},
          {"zone", "zone-a"}};
}

json slice(std::string name, std::string addressType, json ports, json endpoints) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata", {{"name", name}, {"resourceVersion", "100"}}},
          {"addressType", addressType},
          {"ports", ports},
          {"endpoints", endpoints}};
}

json httpPort(int number = 8080) { return json::array({{{"name", "http"}, {"port", number}}}); }

std::map<std::string, EndpointSlice> sliceSet(const std::vector<json>& objects) {
  std::map<std::string, EndpointSlice> slices;
  for (const json& object : objects) {
    auto parsed = parseEndpointSlice(object);
    EXPECT_TRUE(std::holds_alternative<EndpointSlice>(parsed))
        << std::get<std::string>(parsed) << " in " << object.dump();
    if (auto* parsedSlice = std::get_if<EndpointSlice>(&parsed)) {
      slices[parsedSlice->name] = *parsedSlice;
    }
  }
  return slices;
}

std::vector<DiscoveredEndpoint> resolve(const std::vector<json>& objects,
                                        SlicePortSelector port = {"http", 0},
                                        SliceFamily family = SliceFamily::Any) {
  return resolveSliceEndpoints(sliceSet(objects), port, family);
}

TEST(EndpointSlices, MissingConditionsReadAsTheApiSays) {
  auto endpoints = resolve({slice(
      "a", "IPv4", httpPort(),
      {endpoint({"10.0.0.1"}, nullptr),                           // no conditions at all
       endpoint({"10.0.0.2"}, json::object()),                    // all three missing
       endpoint({"10.0.0.3"}, {{"ready", false}}),                // serving follows ready
       endpoint({"10.0.0.4"}, {{"serving", false}}),              // ready still true
       endpoint({"10.0.0.5"}, {{"ready", false}, {"serving", true}, {"terminating", true}}),
       endpoint({"10.0.0.6"}, {{"ready", nullptr}, {"terminating", nullptr}})})});
  ASSERT_EQ(endpoints.size(), 6u);
  auto conditions = [&](size_t i) {
    return std::tuple(endpoints[i].cluster->ready, endpoints[i].cluster->serving,
                      endpoints[i].cluster->terminating);
  };
  EXPECT_EQ(conditions(0), std::tuple(true, true, false));
  EXPECT_EQ(conditions(1), std::tuple(true, true, false));
  EXPECT_EQ(conditions(2), std::tuple(false, false, false));
  EXPECT_EQ(conditions(3), std::tuple(true, false, false));
  EXPECT_EQ(conditions(4), std::tuple(false, true, true));
  EXPECT_EQ(conditions(5), std::tuple(true, true, false));
  EXPECT_EQ(endpoints[0].address.toString(), "10.0.0.1:8080");
  EXPECT_EQ(endpoints[0].cluster->pod, "web-10.0.0.1");
  EXPECT_EQ(endpoints[0].cluster->node, "node-1");
  EXPECT_EQ(endpoints[0].cluster->zone, "zone-a");
}

TEST(EndpointSlices, AnAddressInSeveralSlicesCountsOnceAndTheNonTerminatingCopyWins) {
  json terminating = {{"ready", false}, {"serving", true}, {"terminating", true}};
  for (bool terminatingFirst : {true, false}) {
    // Slice names order the union: the terminating copy comes first, then last.
    auto endpoints = resolve({
        slice(terminatingFirst ? "a" : "b", "IPv4", httpPort(),
              {endpoint({"10.0.0.1"}, terminating), endpoint({"10.0.0.2"})}),
        slice(terminatingFirst ? "b" : "a", "IPv4", httpPort(),
              {endpoint({"10.0.0.1"}), endpoint({"10.0.0.3"})}),
    });
    ASSERT_EQ(endpoints.size(), 3u);
    EXPECT_EQ(endpoints[0].address.toString(), "10.0.0.1:8080");
    EXPECT_FALSE(endpoints[0].cluster->terminating);
    EXPECT_TRUE(endpoints[0].cluster->ready);
  }
}

TEST(EndpointSlices, ThePortIsMatchedByNameOrByTargetPortNumberAndOnlyForTcp) {
  json ports = json::array({{{"name", "http"}, {"port", 8080}},
                            {{"name", ""}, {"port", 9000}},
                            {{"name", "metrics"}, {"port", 9100}, {"protocol", "TCP"}},
                            {{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}}});
  std::vector<json> objects = {slice("a", "IPv4", ports, {endpoint({"10.0.0.1"})})};
  auto portOf = [&](SlicePortSelector selector) {
    auto endpoints = resolve(objects, selector);
    return endpoints.empty() ? 0 : endpoints.front().address.port();
  };
  EXPECT_EQ(portOf({"http", 0}), 8080);
  EXPECT_EQ(portOf({"", 0}), 9000);  // the unnamed port
  EXPECT_EQ(portOf({"metrics", 0}), 9100);
  EXPECT_EQ(portOf({"", 9100}), 9100);  // by number: the slice's (target) port
  EXPECT_EQ(portOf({"dns", 0}), 0);     // UDP: not for a TCP proxy
  EXPECT_EQ(portOf({"grpc", 0}), 0);    // no such port: the slice gives nothing
  EXPECT_EQ(portOf({"", 80}), 0);       // the Service's port is not the slice's
  // A slice whose port has no number ("all ports") gives nothing either.
  EXPECT_TRUE(resolve({slice("b", "IPv4", json::array({{{"name", "http"}}}),
                             {endpoint({"10.0.0.2"})})})
                  .empty());
}

TEST(EndpointSlices, FamiliesAreTakenAsAskedFqdnSlicesNeverAndOnlyTheFirstAddress) {
  std::vector<json> objects = {
      slice("v4", "IPv4", httpPort(), {endpoint({"10.0.0.1", "10.0.0.9"})}),
      slice("v6", "IPv6", httpPort(), {endpoint({"fd00::1"})}),
      slice("names", "FQDN", httpPort(), {endpoint({"web.example.com"})}),
      // An address of the other family inside a slice does not pass as this one.
      slice("odd", "IPv4", httpPort(), {endpoint({"fd00::2"}), endpoint({"not-an-ip"})}),
  };
  auto all = resolve(objects);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].address.toString(), "10.0.0.1:8080");
  EXPECT_EQ(all[1].address.toString(), "[fd00::1]:8080");
  auto v4 = resolve(objects, {"http", 0}, SliceFamily::IPv4);
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].address.family(), AF_INET);
  auto v6 = resolve(objects, {"http", 0}, SliceFamily::IPv6);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].address.family(), AF_INET6);
}

TEST(EndpointSlices, AMalformedSliceIsRefusedWithWhere) {
  auto refused = [](json object) {
    auto parsed = parseEndpointSlice(object);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed)
                                                       : std::string("accepted");
  };
  EXPECT_EQ(refused(json::array()), "an EndpointSlice must be an object");
  EXPECT_EQ(refused({{"addressType", "IPv4"}}), "metadata: missing");
  json bad = slice("a", "IPv4", httpPort(), {endpoint({"10.0.0.1"}, {{"ready", "yes"}})});
  EXPECT_EQ(refused(bad), "endpoints[].conditions.ready: not a boolean");
  bad = slice("a", "IPv4", json::array({{{"name", "http"}, {"port", 70000}}}), json::array());
  EXPECT_EQ(refused(bad), "ports[].port: 70000 is out of range");
  // Unknown fields are ignored, and a slice without endpoints or ports is fine.
  json sparse = {{"metadata", {{"name", "empty"}}}, {"addressType", "IPv4"}, {"future", 1}};
  EXPECT_EQ(refused(sparse), "accepted");
}

// --- messages ---

TEST(KubernetesMessages, AListPageCarriesItsItemsVersionAndContinueToken) {
  json list = {{"kind", "EndpointSliceList"},
               {"metadata", {{"resourceVersion", "4711"}, {"continue", "tok"}}},
               {"items", {slice("a", "IPv4", httpPort(), {endpoint({"10.0.0.1"})})}}};
  auto parsed = parseSliceListPage(list.dump());
  ASSERT_TRUE(std::holds_alternative<SliceListPage>(parsed)) << std::get<std::string>(parsed);
  const auto& page = std::get<SliceListPage>(parsed);
  EXPECT_EQ(page.resourceVersion, "4711");
  EXPECT_EQ(page.continueToken, "tok");
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].name, "a");
  EXPECT_TRUE(std::holds_alternative<std::string>(parseSliceListPage("<html>")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parseSliceListPage("{\"items\":[]}")));
}

TEST(KubernetesMessages, EveryWatchEventTypeIsRead) {
  json object = slice("a", "IPv4", httpPort(), {endpoint({"10.0.0.1"})});
  for (auto [name, type] : {std::pair("ADDED", WatchEvent::Type::Added),
                            std::pair("MODIFIED", WatchEvent::Type::Modified),
                            std::pair("DELETED", WatchEvent::Type::Deleted)}) {
    auto parsed = parseWatchEvent(json({{"type", name}, {"object", object}}).dump());
    ASSERT_TRUE(std::holds_alternative<WatchEvent>(parsed)) << std::get<std::string>(parsed);
    EXPECT_EQ(std::get<WatchEvent>(parsed).type, type);
    EXPECT_EQ(std::get<WatchEvent>(parsed).slice.name, "a");
    EXPECT_EQ(std::get<WatchEvent>(parsed).resourceVersion, "100");
  }
  auto bookmark = parseWatchEvent(
      R"j({"type":"BOOKMARK","object":{"kind":"EndpointSlice","metadata":{"resourceVersion":"12345"}}})j");
  ASSERT_TRUE(std::holds_alternative<WatchEvent>(bookmark));
  EXPECT_EQ(std::get<WatchEvent>(bookmark).type, WatchEvent::Type::Bookmark);
  EXPECT_EQ(std::get<WatchEvent>(bookmark).resourceVersion, "12345");

  auto gone = parseWatchEvent(
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)j"
      R"j("message":"too old resource version: 1 (4711)","reason":"Expired","code":410}})j");
  ASSERT_TRUE(std::holds_alternative<WatchEvent>(gone));
  EXPECT_EQ(std::get<WatchEvent>(gone).type, WatchEvent::Type::Error);
  EXPECT_EQ(std::get<WatchEvent>(gone).status.code, 410);
  EXPECT_EQ(std::get<WatchEvent>(gone).status.reason, "Expired");

  EXPECT_TRUE(std::holds_alternative<std::string>(parseWatchEvent(R"j({"type":"PATCHED","object":{}})j")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parseWatchEvent(R"j({"type":"ADDED"})j")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parseWatchEvent("{\"type\":")));
}

TEST(KubernetesMessages, AnErrorBodyIsAStatusOrNothing) {
  ApiStatus status = parseApiStatus(
      R"j({"kind":"Status","code":401,"reason":"Unauthorized","message":"Unauthorized"})j");
  EXPECT_EQ(status.code, 401);
  EXPECT_EQ(status.reason, "Unauthorized");
  EXPECT_EQ(parseApiStatus("<html>bad gateway</html>").code, 0);
}

}  // namespace
}  // namespace readygate
