// KubeApiClient against the test API server (tests/support/kube_apiserver.py, itself checked
// against kubectl): verified TLS, bearer tokens and their rotation through the token file, a
// list and a watch streamed, and the refusals.
#include "proxy/discovery/kube_api_client.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/core/event_loop.h"
#include "proxy/discovery/json_object_stream.h"
#include "proxy/discovery/kubernetes_messages.h"
#include "proxy/discovery/kubernetes_slice_source.h"
#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/net_helpers.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/test_dns.h"
#include "tests/support/test_kube_apiserver.h"
#include "tests/support/test_pki.h"

namespace readygate {
namespace {

using namespace testing_support;

/// Waits (running the loop) until `condition` holds.
bool runUntil(EventLoop& loop, const std::function<bool()>& condition,
              std::chrono::milliseconds timeout = 15s) {
  return waitUntil(
      [&] {
        event_base_loop(loop.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
        return condition();
      },
      timeout, 0ms);
}

/// What one request gave.
struct Answer : KubeApiClient::Handler {
  int status = 0;
  std::string body;
  std::optional<std::string> done;  // the error ("" for a whole response) once over
  void onResponseHead(int code) override { status = code; }
  void onResponseBody(std::string_view piece) override { body.append(piece); }
  void onResponseDone(const std::string& error) override { done = error; }
};

class KubeApiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As the daemon does: OpenSSL writes with write(2), and a server that closes before
    // the handshake must be an error, not the end of the process.
    std::signal(SIGPIPE, SIG_IGN);
    ca_.create("api-ca");
    server_ = std::make_unique<TestKubeApiServer>(harness_, ca_, "token-1");
    ASSERT_TRUE(server_->started()) << server_->output();
    apiPort_ = server_->apiPort();
    target_.host = "127.0.0.1";
    target_.port = apiPort_;
    target_.caFile = ca_.cert();
    target_.token = "token-1";
    target_.origin = "test";
  }

  std::unique_ptr<KubeApiClient> client(const KubeApiTarget& target) {
    auto made = KubeApiClient::create(loop_.base(), pool_, target, 1 << 20);
    EXPECT_EQ(made.index(), 0u) << std::get<1>(made);
    return made.index() == 0 ? std::move(std::get<0>(made)) : nullptr;
  }

  /// Runs the loop until `answer` is over (or 10 s).
  bool run(const Answer& answer, std::chrono::milliseconds timeout = 10s) {
    return runUntil(loop_, [&] { return answer.done.has_value(); }, timeout);
  }

  void control(const std::string& method, const std::string& path, const std::string& body) {
    ASSERT_EQ(server_->control(method, path, body), 200) << method << " " << path;
  }
  void putSlice(const std::string& name, const std::string& address) {
    ASSERT_EQ(server_->putSlice("shop", name, "web", {{address, true, true, false, ""}}), 200) << name;
  }

  /// What the server was asked, for a failing test's message.
  std::string requestsLog() { return server_->requests(); }

  /// How many watches the server was asked for so far.
  size_t watchRequests() {
    auto log = nlohmann::json::parse(requestsLog(), nullptr, false);
    size_t count = 0;
    if (log.is_array()) {
      for (const auto& request : log) {
        if (request.value("query", "").find("watch=1") != std::string::npos) ++count;
      }
    }
    return count;
  }

  static constexpr const char* kList =
      "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"
      "?labelSelector=kubernetes.io%2Fservice-name%3Dweb&limit=500";

  ProxyHarness harness_;
  TestCa ca_{harness_, harness_.dir() + "/ca"};
  int apiPort_ = 0;
  std::unique_ptr<TestKubeApiServer> server_;
  KubeApiTarget target_;
  EventLoop loop_;
  BufferPool pool_;
};

TEST_F(KubeApiClientTest, AListComesWholeOverVerifiedTlsWithTheToken) {
  putSlice("web-1", "10.0.0.1");
  putSlice("web-2", "10.0.0.2");
  auto api = client(target_);
  ASSERT_TRUE(api);
  Answer answer;
  api->get(kList, answer);
  ASSERT_TRUE(run(answer));
  EXPECT_EQ(*answer.done, "");
  EXPECT_EQ(answer.status, 200);
  auto page = parseSliceListPage(answer.body);
  ASSERT_TRUE(std::holds_alternative<SliceListPage>(page)) << answer.body;
  ASSERT_EQ(std::get<SliceListPage>(page).items.size(), 2u);
  EXPECT_EQ(std::get<SliceListPage>(page).items[1].name, "web-2");
  EXPECT_FALSE(api->busy());
}

TEST_F(KubeApiClientTest, AWatchStreamsEventsAsTheyHappenAndCancelEndsIt) {
  putSlice("web-1", "10.0.0.1");
  auto api = client(target_);
  ASSERT_TRUE(api);
  Answer list;
  api->get(kList, list);
  ASSERT_TRUE(run(list));
  auto page = std::get<SliceListPage>(parseSliceListPage(list.body));

  Answer watch;
  api->get(std::string(kList) + "&watch=1&allowWatchBookmarks=true&resourceVersion=" +
               page.resourceVersion,
           watch);
  ASSERT_TRUE(runUntil(loop_, [&] { return watch.status == 200; }, 10s));
  putSlice("web-2", "10.0.0.2");
  JsonObjectStream stream(1 << 20);
  std::vector<WatchEvent> events;
  size_t fed = 0;
  ASSERT_TRUE(waitUntil(
      [&] {
        event_base_loop(loop_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
        for (const std::string& object : stream.feed(std::string_view(watch.body).substr(fed))) {
          auto event = parseWatchEvent(object);
          if (auto* parsed = std::get_if<WatchEvent>(&event)) events.push_back(*parsed);
        }
        fed = watch.body.size();
        for (const WatchEvent& event : events) {
          if (event.type == WatchEvent::Type::Added && event.slice.name == "web-2") return true;
        }
        return false;
      },
      10s, 0ms));
  EXPECT_FALSE(watch.done);  // a watch runs until someone ends it
  api->cancel();
  EXPECT_FALSE(api->busy());
  for (int i = 0; i < 50; ++i) event_base_loop(loop_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
  EXPECT_FALSE(watch.done);  // cancelled: its handler hears nothing more
}

TEST_F(KubeApiClientTest, TheTokenFileIsReadAgainAfterA401) {
  std::string tokenFile = harness_.writeFile("token", "token-1\n");
  KubeApiTarget target = target_;
  target.token.clear();
  target.tokenFile = tokenFile;
  auto api = client(target);
  ASSERT_TRUE(api);
  Answer first;
  api->get(kList, first);
  ASSERT_TRUE(run(first));
  EXPECT_EQ(first.status, 200);

  // The kubelet rotates the projected token: the server takes only the new one.
  control("POST", "/tokens", R"({"accept":["token-2"]})");
  harness_.writeFile("token", "token-2\n");
  Answer refused;
  api->get(kList, refused);
  ASSERT_TRUE(run(refused));
  EXPECT_EQ(refused.status, 401);  // read less than a minute ago: the old one went
  EXPECT_EQ(*refused.done, "");
  api->tokenRejected();
  Answer again;
  api->get(kList, again);
  ASSERT_TRUE(run(again));
  EXPECT_EQ(again.status, 200);
}

TEST_F(KubeApiClientTest, AnotherCaAndAMissingTokenFileAreRefusedWithWhy) {
  TestCa other{harness_, harness_.dir() + "/other"};
  other.create("other-ca");
  KubeApiTarget target = target_;
  target.caFile = other.cert();
  auto api = client(target);
  ASSERT_TRUE(api);
  Answer answer;
  api->get(kList, answer);
  ASSERT_TRUE(run(answer));
  EXPECT_NE(answer.done->find("TLS: "), std::string::npos) << *answer.done;
  EXPECT_EQ(answer.status, 0);

  target = target_;
  target.token.clear();
  target.tokenFile = harness_.dir() + "/no-such-token";
  api = client(target);
  ASSERT_TRUE(api);
  Answer noToken;
  api->get(kList, noToken);
  ASSERT_TRUE(run(noToken));
  EXPECT_NE(noToken.done->find("token file"), std::string::npos) << *noToken.done;

  target = target_;
  target.host = "not a name";
  auto bad = KubeApiClient::create(loop_.base(), pool_, target, 1 << 20);
  ASSERT_EQ(bad.index(), 1u);
  EXPECT_NE(std::get<1>(bad).find("not a host name"), std::string::npos);
}

TEST_F(KubeApiClientTest, AServerNamedByAHostNameIsLookedUpAndVerifiedForThatName) {
  TestDns dns(harness_);
  dns.setRecords("kubernetes.test", {"127.0.0.1"});
  KubeApiTarget target = target_;
  target.host = "kubernetes.test";
  auto made = KubeApiClient::create(loop_.base(), pool_, target, 1 << 20, {dns.address()});
  ASSERT_EQ(made.index(), 0u) << std::get<1>(made);
  auto api = std::move(std::get<0>(made));
  Answer answer;
  api->get(kList, answer);
  ASSERT_TRUE(run(answer));
  EXPECT_EQ(*answer.done, "");
  EXPECT_EQ(answer.status, 200);
  // A name the certificate does not carry fails verification; one nobody knows, the lookup.
  dns.setRecords("elsewhere.test", {"127.0.0.1"});
  target.host = "elsewhere.test";
  auto other = KubeApiClient::create(loop_.base(), pool_, target, 1 << 20, {dns.address()});
  ASSERT_EQ(other.index(), 0u);
  Answer mismatch;
  std::get<0>(other)->get(kList, mismatch);
  ASSERT_TRUE(run(mismatch));
  EXPECT_NE(mismatch.done->find("TLS: "), std::string::npos) << *mismatch.done;
  target.host = "nobody.test";
  auto unknown = KubeApiClient::create(loop_.base(), pool_, target, 1 << 20, {dns.address()});
  ASSERT_EQ(unknown.index(), 0u);
  Answer missing;
  std::get<0>(unknown)->get(kList, missing);
  ASSERT_TRUE(run(missing));
  EXPECT_NE(missing.done->find("DNS: nobody.test"), std::string::npos) << *missing.done;
}

TEST_F(KubeApiClientTest, AListThatStallsAfterItsHeadEndsAtItsDeadline) {
  control("POST", "/mode", R"({"stallLists":true})");
  auto api = client(target_);
  ASSERT_TRUE(api);
  Answer answer;
  api->get(kList, answer, 0.5);
  ASSERT_TRUE(run(answer, 5s));
  EXPECT_EQ(answer.status, 200);  // the head came; the body never did
  EXPECT_EQ(*answer.done, "no whole answer within 0.5 s");
}

TEST_F(KubeApiClientTest, AWatchCutByTheServerEndsWithAnError) {
  auto api = client(target_);
  ASSERT_TRUE(api);
  Answer watch;
  api->get(std::string(kList) + "&watch=1&allowWatchBookmarks=true", watch);
  ASSERT_TRUE(runUntil(loop_, [&] { return watch.status == 200; }, 10s));
  control("POST", "/drop-watches", "{}");
  ASSERT_TRUE(run(watch));
  // Cut mid-stream: a FIN inside the chunked body, or (this server) TLS without its
  // close_notify; either way not a whole response.
  EXPECT_NE(*watch.done, "");
  EXPECT_TRUE(watch.done->find("closed inside the response") != std::string::npos ||
              watch.done->find("unexpected eof") != std::string::npos)
      << *watch.done;
}

TEST_F(KubeApiClientTest, ASourceFollowsItsSlicesThroughCutsBoth410sAndAnOutageNeverEmptyingThem) {
  putSlice("web-1", "10.0.0.1");
  putSlice("web-2", "10.0.0.2");
  putSlice("web-3", "10.0.0.3");
  KubernetesSliceSource::Options options;
  options.namespaceName = "shop";
  options.service = "web";
  options.reflector.listLimit = 2;  // the list comes in pages
  options.reflector.firstBackoffSeconds = 0.2;
  options.reflector.maxBackoffSeconds = 0.5;
  size_t changes = 0;
  size_t smallestAfterSync = 100;
  KubernetesSliceSource* watched = nullptr;
  KubernetesSliceSource source(loop_.base(), client(target_), options, [&](bool setChanged, double) {
    if (!setChanged) return;
    ++changes;
    if (watched->reflector().synced()) {
      smallestAfterSync = std::min(smallestAfterSync, watched->reflector().slices().size());
    }
  });
  watched = &source;
  source.start();
  auto names = [&] {
    std::string out;
    for (const auto& [name, slice] : source.reflector().slices()) out += name + " ";
    return out;
  };
  ASSERT_TRUE(runUntil(loop_, [&] { return names() == "web-1 web-2 web-3 "; })) << names();
  putSlice("web-4", "10.0.0.4");
  control("DELETE", "/slices/shop/web-1", "");
  ASSERT_TRUE(runUntil(loop_, [&] { return names() == "web-2 web-3 web-4 "; })) << names();

  using Cause = SliceReflector::RelistCause;
  auto relists = [&](Cause cause) { return source.reflector().relists()[static_cast<size_t>(cause)]; };
  // A 410 as an ERROR event, then as an HTTP status: each lists again; a change made
  // meanwhile (web-5) arrives with the new list.
  control("POST", "/mode", R"({"goneAs":"event"})");
  control("POST", "/compact", "{}");
  control("POST", "/drop-watches", "{}");
  size_t watches = watchRequests();
  ASSERT_TRUE(runUntil(loop_, [&] { return relists(Cause::GoneEvent) == 1; }));
  // Watching again (after the new list) before the next fault.
  ASSERT_TRUE(runUntil(loop_, [&] { return watchRequests() > watches + 1; })) << requestsLog();
  control("POST", "/mode", R"({"goneAs":"status"})");
  putSlice("web-5", "10.0.0.5");
  control("POST", "/compact", "{}");
  control("POST", "/drop-watches", "{}");
  ASSERT_TRUE(runUntil(loop_, [&] { return relists(Cause::GoneStatus) == 1; }))
      << names() << " " << source.lastError() << " " << requestsLog();
  ASSERT_TRUE(runUntil(loop_, [&] { return names() == "web-2 web-3 web-4 web-5 "; })) << names();

  // Down: connections refused at once; the set stays; back up: followed again.
  auto unanswered = [&] {
    auto found = source.reflector().errorsByStatus().find(0);
    return found == source.reflector().errorsByStatus().end() ? uint64_t{0} : found->second;
  };
  uint64_t before = unanswered();
  control("POST", "/mode", R"({"down":true})");
  ASSERT_TRUE(runUntil(loop_, [&] { return unanswered() >= before + 2; }));  // retried, backing off
  control("DELETE", "/slices/shop/web-2", "");
  EXPECT_EQ(names(), "web-2 web-3 web-4 web-5 ");
  control("POST", "/mode", R"({"down":false})");
  ASSERT_TRUE(runUntil(loop_, [&] { return names() == "web-3 web-4 web-5 "; }))
      << names() << " / " << source.lastError() << " / " << requestsLog();
  EXPECT_EQ(smallestAfterSync, 3u);  // never emptied on the way
  EXPECT_GE(changes, 4u);
  EXPECT_EQ(relists(Cause::Initial), 1u);
}

}  // namespace
}  // namespace readygate
