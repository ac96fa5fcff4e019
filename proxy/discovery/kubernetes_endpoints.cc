// KubernetesEndpointSource: slices followed and resolved, the reflector's counters shown.
#include "proxy/discovery/kubernetes_endpoints.h"

#include <chrono>
#include <random>

#include "proxy/core/clock.h"
#include "proxy/discovery/kube_api_client.h"

namespace readygate {
namespace {

SliceFamily sliceFamily(DnsEndpoints::Family family) {
  switch (family) {
    case DnsEndpoints::Family::IPv4:
      return SliceFamily::IPv4;
    case DnsEndpoints::Family::IPv6:
      return SliceFamily::IPv6;
    case DnsEndpoints::Family::Any:
      break;
  }
  return SliceFamily::Any;
}

constexpr const char* kEventTypes[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
// No answer at all, a rejected token, a forbidden list, history gone, throttled, down.
constexpr int kUsualApiErrors[] = {0, 401, 403, 410, 429, 500, 503};
constexpr const char* kRelistCauses[] = {"initial", "gone_status", "gone_event",
                                         "continue_expired"};

}  // namespace

KubernetesEndpointSource::KubernetesEndpointSource(KubernetesEndpoints source, std::string origin)
    : source_(std::move(source)),
      origin_(std::move(origin)),
      eventToRotation_(std::make_shared<prometheus::Histogram>(
          prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                  0.01, 0.025, 0.05, 0.1, 0.25, 1})) {}

std::variant<std::unique_ptr<KubernetesEndpointSource>, std::string>
KubernetesEndpointSource::create(event_base* base, const KubernetesEndpoints& source,
                                 const KubeApiTarget& target, size_t maxFileBytes,
                                 const std::vector<std::string>& resolvers, NewsHandler onNews) {
  KubernetesEndpoints resolved = source;
  if (resolved.namespaceName.empty()) resolved.namespaceName = target.namespaceName;
  std::unique_ptr<KubernetesEndpointSource> made(
      new KubernetesEndpointSource(resolved, target.origin));
  auto client = KubeApiClient::create(base, made->buffers_, target, maxFileBytes, resolvers);
  if (auto* error = std::get_if<std::string>(&client)) return *error;
  KubernetesSliceSource::Options options;
  options.namespaceName = resolved.namespaceName;
  options.service = resolved.service;
  options.reflector.staleWatchSeconds = resolved.staleWatchSeconds;
  options.seed = std::random_device{}();  // replicas of readygate do not back off in step
  made->slices_ = std::make_unique<KubernetesSliceSource>(
      base, std::move(std::get<std::unique_ptr<KubeApiClient>>(client)), options,
      std::move(onNews));
  made->slices_->start();
  return made;
}

void KubernetesEndpointSource::resolve() {
  SlicePortSelector port{source_.portName, source_.portNumber};
  endpoints_ =
      resolveSliceEndpoints(slices_->reflector().slices(), port, sliceFamily(source_.family));
  lastUpdateUnix_ = unixSeconds();
}

ServiceMembers::SourceStatus KubernetesEndpointSource::status() const {
  const SliceReflector& reflector = slices_->reflector();
  ServiceMembers::SourceStatus status;
  status.source = "kubernetes";
  status.endpoints = endpoints_.size();
  status.lastUpdateUnix = lastUpdateUnix_;
  for (const auto& [code, count] : reflector.errorsByStatus()) status.errors += count;
  status.lastError = slices_->lastError();
  ServiceMembers::KubernetesSourceStats stats;
  stats.namespaceName = source_.namespaceName;
  stats.service = source_.service;
  stats.apiServer = origin_;
  stats.synced = reflector.synced();
  for (size_t i = 0; i < reflector.eventsByType().size(); ++i) {
    stats.eventsByType.emplace_back(kEventTypes[i], reflector.eventsByType()[i]);
  }
  for (size_t i = 0; i < reflector.relists().size(); ++i) {
    stats.relistsByCause.emplace_back(kRelistCauses[i], reflector.relists()[i]);
  }
  stats.apiErrorsByCode = reflector.errorsByStatus();
  // The codes worth an alert exist from the start, at 0, so rate() and increase() see
  // their first error (a series that appears at 1 hides that increase).
  for (int code : kUsualApiErrors) stats.apiErrorsByCode.try_emplace(code, 0);
  if (reflector.lastActivity() >= 0) {
    static const SteadyClock clock;
    stats.lastEventUnix = unixSeconds() - (clock.now() - reflector.lastActivity());
  }
  stats.eventToRotation = eventToRotation_;
  status.kubernetes = std::move(stats);
  return status;
}

}  // namespace readygate
