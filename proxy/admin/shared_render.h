// SharedRender: one rendered admin answer shared by the clients that ask while it is still
// being sent, so slow readers of a large page cost one render, not one each.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "proxy/core/clock.h"

namespace readygate {

/// Scrapes that each read their answer get a fresh render every time; an answer that some
/// client still holds is handed to newcomers for at most `maxAgeSeconds` after the render
/// *finished*. Timing from the start instead made a render slower than the window (10,000
/// backends on a starved CPU) start the next render at once, each scrape rendering again.
class SharedRender {
 public:
  SharedRender(const Clock& clock, double maxAgeSeconds)
      : clock_(clock), maxAgeSeconds_(maxAgeSeconds) {}

  std::shared_ptr<const std::string> get(const std::function<std::string()>& render) {
    std::shared_ptr<const std::string> text = inFlight_.lock();
    double now = clock_.now();
    if (text && now >= renderedAt_ && now - renderedAt_ < maxAgeSeconds_) return text;
    text = std::make_shared<const std::string>(render());
    inFlight_ = text;
    renderedAt_ = clock_.now();
    return text;
  }

 private:
  const Clock& clock_;  // not owned: the server's clock outlives its routes
  double maxAgeSeconds_;
  std::weak_ptr<const std::string> inFlight_;  // alive only while some answer holds it
  double renderedAt_ = 0;
};

}  // namespace readygate
