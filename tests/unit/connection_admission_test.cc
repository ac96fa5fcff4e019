// ConnectionCount: limits for the total and per client address, and giving places back.
#include "proxy/upstream/connection_admission.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace readygate {
namespace {

TEST(ConnectionCount, TheTotalLimitRefusesOneMoreAndAReleaseMakesRoom) {
  ConnectionCount count;
  bool perClient = false;
  EXPECT_EQ(count.admit("a", 2, 0, perClient), AdmissionRefusal::None);
  EXPECT_EQ(count.admit("b", 2, 0, perClient), AdmissionRefusal::None);
  EXPECT_EQ(count.admit("c", 2, 0, perClient), AdmissionRefusal::ServiceLimit);
  EXPECT_EQ(count.open(), 2);
  count.release("a", perClient);
  EXPECT_EQ(count.admit("c", 2, 0, perClient), AdmissionRefusal::None);
  EXPECT_EQ(count.clientsCounted(), 0u) << "no per-client limit: nothing kept per client";
}

TEST(ConnectionCount, APerClientLimitCountsEachAddressOnItsOwn) {
  ConnectionCount count;
  bool first = false;
  bool second = false;
  bool other = false;
  bool refused = true;
  EXPECT_EQ(count.admit("10.0.0.1", 0, 2, first), AdmissionRefusal::None);
  EXPECT_EQ(count.admit("10.0.0.1", 0, 2, second), AdmissionRefusal::None);
  EXPECT_EQ(count.admit("10.0.0.1", 0, 2, refused), AdmissionRefusal::ClientLimit);
  EXPECT_FALSE(refused);
  EXPECT_EQ(count.admit("10.0.0.2", 0, 2, other), AdmissionRefusal::None);
  EXPECT_EQ(count.open(), 3);
  count.release("10.0.0.1", first);
  EXPECT_EQ(count.admit("10.0.0.1", 0, 2, first), AdmissionRefusal::None);
  // Everything given back: no entry is left behind for a client that went away.
  for (bool counted : {first, second}) count.release("10.0.0.1", counted);
  count.release("10.0.0.2", other);
  EXPECT_EQ(count.open(), 0);
  EXPECT_EQ(count.clientsCounted(), 0u);
}

// A limit switched on while connections are open (a reload): those connections were
// not counted per client and must not be taken off anyone's count when they go.
TEST(ConnectionCount, ConnectionsFromBeforeAPerClientLimitDoNotUnderflowIt) {
  ConnectionCount count;
  bool before = true;
  EXPECT_EQ(count.admit("10.0.0.1", 0, 0, before), AdmissionRefusal::None);
  EXPECT_FALSE(before);
  bool after = false;
  EXPECT_EQ(count.admit("10.0.0.1", 0, 1, after), AdmissionRefusal::None);
  count.release("10.0.0.1", before);
  bool again = true;
  EXPECT_EQ(count.admit("10.0.0.1", 0, 1, again), AdmissionRefusal::ClientLimit);
}

// Workers race for the last places: never more admitted than the limit.
TEST(ConnectionCount, RacingThreadsNeverPassTheLimit) {
  ConnectionCount count;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        bool perClient = false;
        if (count.admit("x", 100, 0, perClient) == AdmissionRefusal::None) ++admitted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(count.open(), 100);
}

}  // namespace
}  // namespace readygate
