// parseEndpointList: the endpoints file format, and every way it is refused.
#include "proxy/discovery/endpoint_list.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

std::vector<std::string> names(const std::string& text) {
  auto parsed = parseEndpointList(text);
  std::vector<std::string> out;
  if (auto* error = std::get_if<std::string>(&parsed)) return {"error: " + *error};
  for (const auto& address : std::get<std::vector<SocketAddress>>(parsed))
    out.push_back(address.toString());
  return out;
}

TEST(EndpointList, YamlJsonAndAnEndpointsKey) {
  EXPECT_EQ(names("- 127.0.0.1:5001\n- \"[::1]:5002\"\n"),
            (std::vector<std::string>{"127.0.0.1:5001", "[::1]:5002"}));
  EXPECT_EQ(names(R"(["127.0.0.1:5001", "127.0.0.1:5001", "127.0.0.2:80"])"),
            (std::vector<std::string>{"127.0.0.1:5001", "127.0.0.2:80"}));  // duplicates once
  EXPECT_EQ(names("endpoints: [127.0.0.1:5001]\n"), (std::vector<std::string>{"127.0.0.1:5001"}));
  EXPECT_TRUE(names("").empty());  // an empty file is an empty set
}

TEST(EndpointList, ABadFileIsRefusedWhole) {
  EXPECT_EQ(names("- 127.0.0.1:5001\n- nowhere\n").at(0).rfind("error: item 2 (line 2)", 0), 0u);
  EXPECT_EQ(names("[127.0.0.1:5001").at(0).rfind("error: line", 0), 0u);
  EXPECT_EQ(names("just text").at(0).rfind("error: must be a list", 0), 0u);
  EXPECT_EQ(names("- {a: 1}\n").at(0).rfind("error: item 1", 0), 0u);
}

}  // namespace
}  // namespace readygate
