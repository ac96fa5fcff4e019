// Follows one Service's EndpointSlices from the API server: SliceReflector's list and watch
// carried out by a KubeApiClient on the control loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proxy/core/timer.h"
#include "proxy/discovery/json_object_stream.h"
#include "proxy/discovery/kube_api_client.h"
#include "proxy/discovery/slice_reflector.h"

namespace readygate {

/// Control loop only. The reflector decides what to ask; this carries it out: list pages
/// are gathered whole (up to maxListBytes) and parsed, a watch's body is cut into events
/// as it comes. `onNews` is told after every answer and every batch of events: whether the
/// set changed (the caller diffs it against what it had) and when the bytes that changed
/// it arrived (monotonic seconds), so the caller can time the way to the rotation. A 401
/// makes the client read its token file again.
class KubernetesSliceSource : private KubeApiClient::Handler {
 public:
  struct Options {
    std::string namespaceName;
    std::string service;
    SliceReflector::Settings reflector;
    size_t maxListBytes = 64u << 20;   // one list page's body
    size_t maxEventBytes = 8u << 20;   // one watch event (a slice of 1,000 endpoints is ~0.5 MiB)
    uint32_t seed = 0;                 // the reflector's jitter
    double listPageSeconds = 60;       // one list page, whole, at most this long
  };

  using NewsHandler = std::function<void(bool setChanged, double arrivedAt)>;
  KubernetesSliceSource(event_base* base, std::unique_ptr<KubeApiClient> client, Options options,
                        NewsHandler onNews);
  KubernetesSliceSource(const KubernetesSliceSource&) = delete;
  KubernetesSliceSource& operator=(const KubernetesSliceSource&) = delete;

  /// Begins with the list; nothing is told from inside this call.
  void start();
  const SliceReflector& reflector() const { return reflector_; }
  /// The last failure in words ("" after a success): for /status and the log.
  const std::string& lastError() const { return lastError_; }
  /// Once after a list completed: the control loop's time spent on its pages (gathering,
  /// parsing, applying to the reflector), for the log and the benchmark.
  std::optional<double> takeListWork();

 private:
  void step();
  void armWake();
  void tell(uint64_t before, double arrivedAt);
  std::string listPath() const;

  void onResponseHead(int status) override;
  void onResponseBody(std::string_view piece) override;
  void onResponseDone(const std::string& error) override;

  std::unique_ptr<KubeApiClient> client_;
  Options options_;
  NewsHandler onNews_;
  SliceReflector reflector_;
  Timer wake_;
  SliceReflector::Request::Kind running_ = SliceReflector::Request::Kind::List;
  int status_ = 0;
  std::string body_;  // a list page, or an error answer (a Status)
  std::unique_ptr<JsonObjectStream> events_;  // the watch in flight
  bool tooLarge_ = false;
  std::string lastError_;
  double listWork_ = 0;  // this list's pages so far
  std::optional<double> completedListWork_;
};

}  // namespace readygate
