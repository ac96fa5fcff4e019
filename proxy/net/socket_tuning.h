// Small helpers every session kind uses on the loop's times.
#pragma once

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Seconds from `from` to `to` (the loop's cached times).
inline double secondsBetween(const timeval& from, const timeval& to) {
  return static_cast<double>(to.tv_sec - from.tv_sec) +
         static_cast<double>(to.tv_usec - from.tv_usec) / 1e6;
}

}  // namespace readygate
