// planReload: the whole configuration diffed by service name.
#include "config/reload_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace readygate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Action = ServiceReload::Action;

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
    livenessProbe: {tcpSocket: {}}
  - name: api
    listen: 127.0.0.1:8081
    endpoints: {static: ["127.0.0.1:6001"]}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

const ServiceReload& find(const ReloadPlan& plan, const std::string& name) {
  for (const ServiceReload& service : plan.services) {
    if (service.name == name) return service;
  }
  throw std::runtime_error("no " + name);
}

TEST(ReloadPlan, TheSameConfigChangesNothing) {
  ReloadPlan plan = planReload(load(kBase), load(kBase));
  EXPECT_TRUE(plan.errors.empty());
  EXPECT_TRUE(plan.summary.empty());
  for (const ServiceReload& service : plan.services) EXPECT_EQ(service.action, Action::Keep);
}

TEST(ReloadPlan, ServicesAreKeyedByNameNotPosition) {
  const char* reordered = R"(
services:
  - name: api
    listen: 127.0.0.1:8081
    endpoints: {static: ["127.0.0.1:6001"]}
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002"]}
    readinessProbe: {httpGet: {path: /ready}}
    livenessProbe: {tcpSocket: {}}
)";
  ReloadPlan plan = planReload(load(kBase), load(reordered));
  EXPECT_TRUE(plan.summary.empty());
  EXPECT_EQ(find(plan, "web").action, Action::Keep);
}

TEST(ReloadPlan, AddedRemovedAndRenamedServices) {
  ReloadPlan plan = planReload(load(kBase), load(with(kBase, "name: api", "name: api2")));
  EXPECT_EQ(find(plan, "api").action, Action::Remove);
  EXPECT_EQ(find(plan, "api2").action, Action::Add);
  EXPECT_EQ(find(plan, "web").action, Action::Keep);
}

TEST(ReloadPlan, OnlyTheChangedProbeRestarts) {
  ReloadPlan plan = planReload(load(kBase), load(with(kBase, "path: /ready", "path: /healthz")));
  const ServiceReload& web = find(plan, "web");
  EXPECT_EQ(web.action, Action::Update);
  EXPECT_THAT(web.probesChanged, ElementsAre(ProbeKind::Readiness));
  EXPECT_FALSE(web.settingsChanged);
  EXPECT_FALSE(web.endpointsChanged);
  EXPECT_FALSE(web.listenChanged);
}

TEST(ReloadPlan, ListenEndpointsAndSettings) {
  std::string next = with(with(kBase, "127.0.0.1:8081", "127.0.0.1:9081"), "\"127.0.0.1:6001\"]}",
                          "\"127.0.0.1:6001\"]}\n    connectTimeoutSeconds: 2");
  next = with(next, "\"127.0.0.1:5002\"", "\"127.0.0.1:5003\"");
  ReloadPlan plan = planReload(load(kBase), load(next));
  const ServiceReload& api = find(plan, "api");
  EXPECT_TRUE(api.listenChanged);
  EXPECT_TRUE(api.settingsChanged);
  EXPECT_FALSE(api.endpointsChanged);
  EXPECT_TRUE(find(plan, "web").endpointsChanged);
  EXPECT_FALSE(find(plan, "web").settingsChanged);
}

TEST(ReloadPlan, OnlyWorkersAndAdminListenNeedARestart) {
  EXPECT_THAT(planReload(load(kBase), load(std::string("workers: 3\n") + kBase)).errors,
              ElementsAre(HasSubstr("workers: changes need a restart")));
  EXPECT_THAT(
      planReload(load(kBase), load(std::string("admin: {listen: 127.0.0.1:9999}\n") + kBase))
          .errors,
      ElementsAre(HasSubstr("admin.listen: changes need a restart")));
  EXPECT_TRUE(
      planReload(load(kBase), load(std::string("admin: {readyRequiresBackends: true}\n") + kBase))
          .errors.empty());
}

TEST(ReloadPlan, AModeChangeIsARemovalPlusAnAddition) {
  Config running = load(kBase);
  Config next = running;
  next.services[1].mode = ProxyMode::Http;  // the loader rejects http until it exists
  EXPECT_EQ(find(planReload(running, next), "api").action, Action::Replace);
}

}  // namespace
}  // namespace readygate
