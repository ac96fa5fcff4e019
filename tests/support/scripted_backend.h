// A backend that misbehaves on purpose: answers every request with fixed bytes, then
// closes, resets or holds the connection. For fault tests a real server cannot play.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace testing_support {

class ScriptedBackend {
 public:
  enum class Ending { Close, Reset, Hold };

  /// Listens on 127.0.0.1 (a free port) and serves from a thread of its own until destroyed.
  ScriptedBackend(std::string reply, Ending ending);
  ~ScriptedBackend();
  ScriptedBackend(const ScriptedBackend&) = delete;
  ScriptedBackend& operator=(const ScriptedBackend&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void serve();

  std::string reply_;
  Ending ending_;
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace testing_support
