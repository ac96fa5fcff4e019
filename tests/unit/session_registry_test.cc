// SessionRegistry: the worker's intrusive list of sessions, and their admission tickets.
#include "proxy/net/session_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

namespace readygate {
namespace {

class CountedSession : public Session {
 public:
  explicit CountedSession(int& alive) : alive_(alive) { ++alive_; }
  ~CountedSession() override { --alive_; }
  void start() override {}
  void abort(std::string_view) override {}

 private:
  int& alive_;
};

AdmissionTicket admitted(ConnectionCount& count, const std::string& client) {
  bool countedPerClient = false;
  EXPECT_EQ(count.admit(client, 0, 10, countedPerClient), AdmissionRefusal::None);
  return AdmissionTicket(nullptr, &count, client, countedPerClient);
}

TEST(SessionRegistry, RemovingFromAnyPlaceKeepsTheOthersAndGivesTheTicketBackAtOnce) {
  ConnectionCount count;
  int alive = 0;
  SessionRegistry registry;
  Session* first = &registry.add(std::make_unique<CountedSession>(alive), admitted(count, "a"));
  Session* middle = &registry.add(std::make_unique<CountedSession>(alive), admitted(count, "b"));
  Session* last = &registry.add(std::make_unique<CountedSession>(alive), admitted(count, "b"));
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_EQ(count.open(), 3);
  EXPECT_EQ(count.clientsCounted(), 2u);

  std::unique_ptr<Session> kept = registry.remove(middle);
  ASSERT_EQ(kept.get(), middle);
  EXPECT_EQ(count.open(), 2);  // given back on the way out, while the session still lives
  EXPECT_EQ(alive, 3);
  EXPECT_EQ(registry.remove(middle), nullptr);  // a second finish is harmless
  auto open = registry.list();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_NE(std::find(open.begin(), open.end(), first), open.end());
  EXPECT_NE(std::find(open.begin(), open.end(), last), open.end());

  EXPECT_EQ(registry.remove(first).get(), first);  // destroyed on the way
  EXPECT_EQ(registry.remove(last).get(), last);    // the head, after the tail
  EXPECT_TRUE(registry.empty());
  EXPECT_EQ(count.open(), 0);
  EXPECT_EQ(count.clientsCounted(), 0u);
  EXPECT_EQ(alive, 1);  // `middle`, still held here
}

TEST(SessionRegistry, ClearDestroysEverySessionAndGivesEveryTicketBack) {
  ConnectionCount count;
  int alive = 0;
  {
    SessionRegistry registry;
    for (int i = 0; i < 5; ++i) {
      registry.add(std::make_unique<CountedSession>(alive), admitted(count, "c"));
    }
    registry.clear();
    EXPECT_EQ(alive, 0);
    EXPECT_EQ(count.open(), 0);
    registry.add(std::make_unique<CountedSession>(alive), admitted(count, "d"));
  }  // and the destructor does the same
  EXPECT_EQ(alive, 0);
  EXPECT_EQ(count.open(), 0);
}

}  // namespace
}  // namespace readygate
