// What a reload may change: only endpoints.static; everything else is named and rejected.
#include "config/reload_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace readygate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Config load(const std::string& yaml) {
  ConfigLoadResult result = loadConfigText(yaml);
  EXPECT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].toString());
  return result.config.value_or(Config{});
}

const char* kBase = R"(
services:
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002"]}
    readinessProbe: {httpGet: {path: /ready}}
  - name: api
    listen: 127.0.0.1:8081
    endpoints: {static: ["127.0.0.1:6001"]}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(ReloadCheck, SameConfigAndEndpointChangesAreReloadable) {
  Config running = load(kBase);
  EXPECT_TRUE(unreloadableChanges(running, load(kBase)).empty());
  Config next = load(with(kBase, "\"127.0.0.1:5002\"", "\"127.0.0.1:5003\", \"127.0.0.1:5004\""));
  EXPECT_TRUE(unreloadableChanges(running, next).empty());
}

TEST(ReloadCheck, EverythingElseIsNamed) {
  Config running = load(kBase);
  EXPECT_THAT(unreloadableChanges(running, load(with(kBase, "path: /ready", "path: /healthz"))),
              ElementsAre(HasSubstr("services[0] (web): only endpoints.static can change")));
  EXPECT_THAT(unreloadableChanges(running, load(with(kBase, "127.0.0.1:8081", "127.0.0.1:9081"))),
              ElementsAre(HasSubstr("services[1] (api)")));
  EXPECT_THAT(unreloadableChanges(running, load(std::string("workers: 3\n") + kBase)),
              ElementsAre("workers: changes need a restart"));
  EXPECT_THAT(
      unreloadableChanges(running, load(std::string("admin: {listen: 127.0.0.1:9999}\n") + kBase)),
      ElementsAre("admin: changes need a restart"));
  EXPECT_THAT(unreloadableChanges(running, load(with(kBase, "name: api", "name: api2"))),
              ElementsAre(HasSubstr("services[1].name: renaming or reordering")));
  Config fewer = running;
  fewer.services.pop_back();
  EXPECT_THAT(unreloadableChanges(running, fewer),
              ElementsAre(HasSubstr("adding or removing services needs a restart")));
}

}  // namespace
}  // namespace readygate
