// SliceReflector: list pages, watch events, bookmarks, 410s, stale watches and backoff, with
// the time given by the test.
#include "proxy/discovery/slice_reflector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace readygate {
namespace {

using Kind = SliceReflector::Request::Kind;

EndpointSlice slice(std::string name, std::string version, std::string address) {
  EndpointSlice made;
  made.name = std::move(name);
  made.resourceVersion = std::move(version);
  made.addressType = "IPv4";
  made.ports.push_back(SlicePort{"http", 8080, "TCP"});
  SliceEndpoint endpoint;
  endpoint.addresses.push_back(std::move(address));
  made.endpoints.push_back(endpoint);
  return made;
}

SliceListPage page(std::vector<EndpointSlice> items, std::string version, std::string token = "") {
  return SliceListPage{std::move(items), std::move(version), std::move(token)};
}

WatchEvent event(WatchEvent::Type type, EndpointSlice object) {
  WatchEvent made;
  made.type = type;
  made.resourceVersion = object.resourceVersion;
  made.slice = std::move(object);
  return made;
}

WatchEvent bookmark(std::string version) {
  WatchEvent made;
  made.type = WatchEvent::Type::Bookmark;
  made.resourceVersion = std::move(version);
  return made;
}

WatchEvent gone() {
  WatchEvent made;
  made.type = WatchEvent::Type::Error;
  made.status = ApiStatus{410, "Expired", "too old resource version"};
  return made;
}

std::vector<std::string> names(const SliceReflector& reflector) {
  std::vector<std::string> out;
  for (const auto& [name, slice] : reflector.slices()) out.push_back(name);
  return out;
}

/// A reflector that has listed {a, b} at version 10 and is watching from there.
struct Watching {
  SliceReflector reflector{SliceReflector::Settings{}, 7};
  double now = 100;
  Watching() {
    reflector.next(now);
    reflector.listPage(page({slice("a", "5", "10.0.0.1"), slice("b", "6", "10.0.0.2")}, "10"), now);
    auto watch = reflector.next(now);
    EXPECT_TRUE(watch && watch->kind == Kind::Watch);
  }
};

TEST(SliceReflector, AListIsReadPageByPageThenWatchedFromItsVersion) {
  SliceReflector reflector(SliceReflector::Settings{}, 1);
  double now = 100;
  auto first = reflector.next(now);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, Kind::List);
  EXPECT_EQ(first->continueToken, "");
  EXPECT_FALSE(reflector.next(now));  // one request at a time
  reflector.listPage(page({slice("a", "5", "10.0.0.1")}, "9", "page-2"), now);
  EXPECT_FALSE(reflector.synced());
  EXPECT_TRUE(reflector.slices().empty());  // a partial list is never the set
  auto second = reflector.next(now);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kind, Kind::List);
  EXPECT_EQ(second->continueToken, "page-2");
  reflector.listPage(page({slice("b", "6", "10.0.0.2")}, "10"), now);
  EXPECT_TRUE(reflector.synced());
  EXPECT_EQ(names(reflector), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(reflector.generation(), 1u);
  auto watch = reflector.next(now);
  ASSERT_TRUE(watch);
  EXPECT_EQ(watch->kind, Kind::Watch);
  EXPECT_EQ(watch->resourceVersion, "10");
  EXPECT_GE(watch->timeoutSeconds, 300);
  EXPECT_LE(watch->timeoutSeconds, 600);
  EXPECT_EQ(reflector.relists()[static_cast<size_t>(SliceReflector::RelistCause::Initial)], 1u);
}

TEST(SliceReflector, WatchEventsChangeTheSetAndBookmarksOnlyMoveTheVersion) {
  Watching w;
  auto& reflector = w.reflector;
  uint64_t generation = reflector.generation();
  reflector.watchEvent(event(WatchEvent::Type::Added, slice("c", "11", "10.0.0.3")), w.now);
  reflector.watchEvent(event(WatchEvent::Type::Modified, slice("a", "12", "10.0.0.9")), w.now);
  reflector.watchEvent(event(WatchEvent::Type::Deleted, slice("b", "13", "10.0.0.2")), w.now);
  EXPECT_EQ(names(reflector), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(reflector.slices().at("a").endpoints[0].addresses[0], "10.0.0.9");  // replaced
  EXPECT_EQ(reflector.generation(), generation + 3);
  reflector.watchEvent(bookmark("20"), w.now + 60);
  EXPECT_EQ(reflector.generation(), generation + 3);
  EXPECT_EQ(reflector.resourceVersion(), "20");
  EXPECT_EQ(reflector.eventsByType()[static_cast<size_t>(WatchEvent::Type::Bookmark)], 1u);

  // The server ends the watch after its timeout: again from the bookmark, within a second.
  reflector.watchEnded(w.now + 400);
  auto again = reflector.next(w.now + 401);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, Kind::Watch);
  EXPECT_EQ(again->resourceVersion, "20");
}

TEST(SliceReflector, GoneAsAnEventListsAgainAndKeepsTheSetUntilTheNewListIsWhole) {
  Watching w;
  auto& reflector = w.reflector;
  double later = w.now + 60;  // a minute after the list (one right after it waits: below)
  reflector.watchEvent(gone(), later);
  auto list = reflector.next(later);  // at once: the server is answering
  ASSERT_TRUE(list);
  EXPECT_EQ(list->kind, Kind::List);
  reflector.listPage(page({slice("a", "5", "10.0.0.1")}, "30", "more"), later);
  EXPECT_EQ(names(reflector), (std::vector<std::string>{"a", "b"}));  // still the old set
  reflector.next(later);
  reflector.listPage(page({slice("c", "29", "10.0.0.3")}, "30"), later);
  EXPECT_EQ(names(reflector), (std::vector<std::string>{"a", "c"}));  // b went meanwhile
  EXPECT_EQ(reflector.resourceVersion(), "30");
  EXPECT_EQ(reflector.relists()[static_cast<size_t>(SliceReflector::RelistCause::GoneEvent)], 1u);
  EXPECT_EQ(reflector.errorsByStatus().at(410), 1u);
}

TEST(SliceReflector, GoneAsAnHttpStatusListsAgainAndAnExpiredContinueStartsTheListOver) {
  Watching w;
  auto& reflector = w.reflector;
  double later = w.now + 60;  // a minute after the list (one right after it waits: below)
  reflector.requestFailed(410, later);  // the watch's answer
  auto list = reflector.next(later);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->kind, Kind::List);
  EXPECT_EQ(reflector.relists()[static_cast<size_t>(SliceReflector::RelistCause::GoneStatus)], 1u);
  reflector.listPage(page({slice("x", "40", "10.0.0.8")}, "41", "stale-token"), later);
  reflector.next(later);
  reflector.requestFailed(410, later);  // the continue token expired
  auto restart = reflector.next(later);
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->continueToken, "");  // from the first page again
  reflector.listPage(page({slice("a", "5", "10.0.0.1")}, "42"), later);
  EXPECT_EQ(names(reflector), (std::vector<std::string>{"a"}));  // x's page was dropped
  EXPECT_EQ(
      reflector.relists()[static_cast<size_t>(SliceReflector::RelistCause::ContinueExpired)], 1u);
}

TEST(SliceReflector, AnUnreachableOrFailingServerBacksOffWithJitterAndKeepsTheSet) {
  Watching w;
  auto& reflector = w.reflector;
  double now = w.now;
  double expected = 1;
  for (int status : {0, 503, 429, 500, 0, 0, 0, 0}) {
    reflector.requestFailed(status, now);
    auto wake = reflector.wakeAt();
    ASSERT_TRUE(wake);
    EXPECT_GE(*wake - now, expected);
    EXPECT_LE(*wake - now, expected * 1.5);
    EXPECT_FALSE(reflector.next(*wake - 0.01));
    now = *wake;
    auto retry = reflector.next(now);
    ASSERT_TRUE(retry);
    EXPECT_EQ(retry->kind, Kind::Watch);  // from the last version: no list for a 5xx
    EXPECT_EQ(retry->resourceVersion, "10");
    EXPECT_EQ(names(reflector), (std::vector<std::string>{"a", "b"}));
    expected = std::min(expected * 2, 30.0);
  }
  EXPECT_EQ(reflector.errorsByStatus().at(0), 5u);
  // An answer resets the backoff.
  reflector.watchEvent(bookmark("11"), now + 5);
  reflector.watchEnded(now + 300);
  auto wake = reflector.wakeAt();
  ASSERT_TRUE(wake);
  EXPECT_LT(*wake - (now + 300), 1.0);
}

TEST(SliceReflector, ASilentWatchIsStaleAfterItsTimeAndIsWatchedAgainWithoutAList) {
  Watching w;
  auto& reflector = w.reflector;
  reflector.watchEvent(bookmark("15"), w.now + 10);
  EXPECT_FALSE(reflector.watchIsStale(w.now + 189));
  EXPECT_EQ(reflector.wakeAt().value_or(0), w.now + 190);
  EXPECT_TRUE(reflector.watchIsStale(w.now + 190));
  reflector.watchAbandoned(w.now + 190);
  auto again = reflector.next(w.now + 190);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, Kind::Watch);
  EXPECT_EQ(again->resourceVersion, "15");
  EXPECT_FALSE(reflector.watchIsStale(w.now + 200));  // the new watch's silence starts now
  EXPECT_EQ(reflector.watchRestarts()[static_cast<size_t>(SliceReflector::WatchRestart::Stale)],
            1u);
}

TEST(SliceReflector, AServerThatAnswers410ToEverythingIsNotListedInALoop) {
  SliceReflector reflector(SliceReflector::Settings{}, 3);
  double now = 100;
  reflector.next(now);
  reflector.requestFailed(410, now);  // the first page: there was no token to expire
  EXPECT_FALSE(reflector.next(now));  // waits
  ASSERT_TRUE(reflector.wakeAt());
  now = *reflector.wakeAt();
  ASSERT_TRUE(reflector.next(now));
  reflector.listPage(page({slice("a", "5", "10.0.0.1")}, "10"), now);
  ASSERT_TRUE(reflector.next(now));  // the watch
  reflector.watchEvent(gone(), now + 0.1);  // at once gone again
  EXPECT_FALSE(reflector.next(now + 0.1));
  EXPECT_EQ(names(reflector), (std::vector<std::string>{"a"}));
  // A 410 long after the last list is answered with a list at once.
  now = *reflector.wakeAt();
  ASSERT_TRUE(reflector.next(now));
  reflector.listPage(page({slice("a", "5", "10.0.0.1")}, "20"), now);
  ASSERT_TRUE(reflector.next(now));
  reflector.requestFailed(410, now + 120);
  auto list = reflector.next(now + 120);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->kind, Kind::List);
}

TEST(SliceReflector, AWatchThatEndsAtOnceBacksOffInsteadOfSpinning) {
  Watching w;
  auto& reflector = w.reflector;
  double now = w.now;
  for (int i = 0; i < 4; ++i) {
    reflector.watchEnded(now);
    auto wake = reflector.wakeAt();
    ASSERT_TRUE(wake);
    EXPECT_GE(*wake - now, 1.0 * (1 << i));
    now = *wake;
    ASSERT_TRUE(reflector.next(now));
  }
}

}  // namespace
}  // namespace readygate
