// The console's pure parts: the event ring, the latency ring, the /status query, the watch
// lines, the embedded files.
#include <gtest/gtest.h>

#include "proxy/admin/console_assets.h"
#include "proxy/admin/console_view.h"
#include "proxy/admin/event_lines.h"
#include "proxy/health/latency_history.h"
#include "proxy/health/state_event_log.h"

namespace readygate {
namespace {

StateEvent change(const std::string& backend, const std::string& to) {
  return StateEvent{.unixTime = 1700000000,
                    .service = "web",
                    .backend = backend,
                    .pod = "",
                    .from = "ready",
                    .to = to,
                    .cause = "readiness",
                    .reason = "http_503"};
}

TEST(StateEventLog, NumbersEventsAndAnswersFromASequenceNumber) {
  StateEventLog log(10);
  EXPECT_EQ(log.since(0).next, 1u);
  EXPECT_TRUE(log.since(0).events.empty());
  for (int i = 0; i < 3; ++i) log.record(change("b" + std::to_string(i), "not_ready"));
  StateEventLog::Page all = log.since(0);
  ASSERT_EQ(all.events.size(), 3u);
  EXPECT_EQ(all.events[0]->sequence, 1u);
  EXPECT_EQ(all.events[2]->backend, "b2");
  EXPECT_EQ(all.next, 4u);
  EXPECT_FALSE(all.truncated);
  StateEventLog::Page rest = log.since(3);
  ASSERT_EQ(rest.events.size(), 1u);
  EXPECT_EQ(rest.events[0]->sequence, 3u);
  EXPECT_TRUE(log.since(4).events.empty());  // up to date: nothing new
  EXPECT_FALSE(log.since(4).truncated);
}

TEST(StateEventLog, KeepsTheNewestAndTellsAReaderThatFellBehind) {
  StateEventLog log(5);
  for (int i = 0; i < 12; ++i) log.record(change("b" + std::to_string(i), "ready"));
  EXPECT_EQ(log.size(), 5u);
  StateEventLog::Page behind = log.since(3);
  ASSERT_EQ(behind.events.size(), 5u);
  EXPECT_EQ(behind.events.front()->sequence, 8u);
  EXPECT_TRUE(behind.truncated);
  StateEventLog::Page inTime = log.since(8);
  EXPECT_EQ(inTime.events.size(), 5u);
  EXPECT_FALSE(inTime.truncated);
  EXPECT_TRUE(log.since(0).truncated);  // "everything" is no longer everything
}

TEST(StateEventLog, ANumberFromTheFutureMeansAnotherProcessAndGetsEverythingKept) {
  StateEventLog log;
  log.record(change("b", "ready"));
  StateEventLog::Page page = log.since(500);  // a reader that followed the previous readygate
  EXPECT_EQ(page.events.size(), 1u);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next, 2u);
}

TEST(LatencyHistory, HoldsTheLastSixtyOldestFirst) {
  LatencyHistory history;
  EXPECT_TRUE(history.samples().empty());
  history.add(0.002, true);
  history.add(0.004, false);
  ASSERT_EQ(history.samples().size(), 2u);
  EXPECT_FLOAT_EQ(history.samples()[0].millis, 2);
  EXPECT_TRUE(history.samples()[1].failed);
  for (int i = 0; i < 100; ++i) history.add(i / 1000.0, true);
  auto samples = history.samples();
  ASSERT_EQ(samples.size(), 60u);
  EXPECT_FLOAT_EQ(samples.front().millis, 40);
  EXPECT_FLOAT_EQ(samples.back().millis, 99);
  for (const auto& sample : samples) EXPECT_FALSE(sample.failed);
}

TEST(ConsoleQuery, ReadsEveryPartAndRefusesWhatItDoesNotKnow) {
  auto parsed = parseConsoleQuery("summary=1&service=my%20web&offset=200&limit=50&events_since=7");
  ASSERT_TRUE(std::holds_alternative<ConsoleQuery>(parsed));
  const ConsoleQuery& query = std::get<ConsoleQuery>(parsed);
  EXPECT_TRUE(query.summary);
  EXPECT_EQ(query.service, "my web");
  EXPECT_EQ(query.offset, 200u);
  EXPECT_EQ(query.limit, 50u);
  EXPECT_EQ(query.eventsSince, 7u);
  auto defaults = std::get<ConsoleQuery>(parseConsoleQuery("service=web"));
  EXPECT_FALSE(defaults.summary);
  EXPECT_EQ(defaults.limit, ConsoleQuery::kDefaultLimit);
  EXPECT_FALSE(defaults.eventsSince);
  for (const char* bad : {"limit=1001", "limit=-1", "offset=x", "summary=yes", "events_since=",
                          "servce=web", "limit=1e3"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parseConsoleQuery(bad))) << bad;
  }
  EXPECT_FALSE(isConsoleQuery(""));
  EXPECT_FALSE(isConsoleQuery("format=text"));
  EXPECT_TRUE(isConsoleQuery("summary=1"));
}

TEST(EventLines, AnEventsAnswerIsALinePerChange) {
  StateEventLog log;
  log.record(change("127.0.0.1:5001", "not_ready"));
  StateEvent pod = change("10.0.0.7:8080", "ready");
  pod.pod = "web-7d9f";
  log.record(pod);
  std::string error;
  auto lines = eventLinesFrom(renderEvents(log, 0), error);
  ASSERT_TRUE(lines) << error;
  ASSERT_EQ(lines->lines.size(), 2u);
  EXPECT_EQ(lines->lines[0],
            "2023-11-14T22:13:20.000Z  web  127.0.0.1:5001  ready -> not_ready  readiness http_503");
  EXPECT_NE(lines->lines[1].find("10.0.0.7:8080 (web-7d9f)"), std::string::npos);
  EXPECT_EQ(lines->next, 3u);
  EXPECT_FALSE(lines->truncated);
  for (const char* bad : {"", "{}", "[1]", R"({"events":[],"next":-1})", "{\"events\":"}) {
    EXPECT_FALSE(eventLinesFrom(bad, error)) << bad;
  }
  // Odd types where strings and flags belong are read as absent, never thrown on.
  auto odd = eventLinesFrom(R"({"events":[{"time":1,"backend":["x"]},7],"next":2,"truncated":4.4})",
                            error);
  ASSERT_TRUE(odd) << error;
  EXPECT_FALSE(odd->truncated);
  EXPECT_EQ(odd->lines.size(), 1u);
}

TEST(ConsoleAssets, ThePageAndItsFilesAreCompiledInAndNothingElseIsServed) {
  auto page = consoleAsset("/");
  ASSERT_TRUE(page);
  EXPECT_STREQ(page->contentType, "text/html; charset=utf-8");
  EXPECT_NE(page->bytes.find("/console/console.js"), std::string_view::npos);
  // No inline script: the CSP (default-src 'self') would block it.
  EXPECT_EQ(page->bytes.find("<script>"), std::string_view::npos);
  auto script = consoleAsset("/console/console.js");
  ASSERT_TRUE(script);
  EXPECT_STREQ(script->contentType, "text/javascript; charset=utf-8");
  // Pod strings go in as text: the script never writes markup.
  EXPECT_EQ(script->bytes.find("innerHTML"), std::string_view::npos);
  EXPECT_EQ(script->bytes.find("insertAdjacentHTML"), std::string_view::npos);
  ASSERT_TRUE(consoleAsset("/console/console.css"));
  ASSERT_TRUE(consoleAsset("/console/favicon.svg"));
  EXPECT_FALSE(consoleAsset("/console/"));
  EXPECT_FALSE(consoleAsset("/console/index.html"));
  EXPECT_FALSE(consoleAsset("/console/../status"));
  EXPECT_FALSE(consoleAsset("/index.html"));
}

}  // namespace
}  // namespace readygate
