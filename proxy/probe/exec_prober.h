// exec probe: run argv directly (no shell), exit 0 = success, killed at the timeout.
#pragma once

#include <string>
#include <vector>

#include "proxy/probe/prober.h"

struct event_base;

namespace readygate {

class ChildReaper;

/// Each attempt is a child in its own process group (so a timeout kills what it spawned
/// too), with READYGATE_BACKEND_HOST, READYGATE_BACKEND_PORT and READYGATE_SERVICE added
/// to the environment; the first line of its output becomes the message.
class ExecProber : public Prober {
 public:
  ExecProber(event_base* base, ChildReaper& reaper, std::vector<std::string> command,
             std::vector<std::string> extraEnvironment, double timeoutSeconds);
  std::unique_ptr<ProbeAttempt> start(ProbeDone done) override;

 private:
  event_base* base_;
  ChildReaper& reaper_;
  std::vector<std::string> command_;
  std::vector<std::string> extraEnvironment_;
  double timeoutSeconds_;
};

}  // namespace readygate
