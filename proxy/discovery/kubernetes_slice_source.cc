// KubernetesSliceSource: the reflector's requests carried out, answers fed back.
#include "proxy/discovery/kubernetes_slice_source.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "proxy/core/clock.h"
#include "proxy/core/log.h"

namespace readygate {
namespace {

double now() {
  static const SteadyClock clock;
  return clock.now();
}

/// Percent-encodes all but RFC 3986's unreserved characters (continue tokens are base64).
std::string queryEscaped(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

KubernetesSliceSource::KubernetesSliceSource(event_base* base,
                                             std::unique_ptr<KubeApiClient> client,
                                             Options options, NewsHandler onNews)
    : client_(std::move(client)),
      options_(std::move(options)),
      onNews_(std::move(onNews)),
      reflector_(options_.reflector, options_.seed),
      wake_(Timer::calling<&KubernetesSliceSource::step>(base, this)) {}

void KubernetesSliceSource::start() { wake_.armNow(); }

std::string KubernetesSliceSource::listPath() const {
  return "/apis/discovery.k8s.io/v1/namespaces/" + options_.namespaceName +
         "/endpointslices?labelSelector=" +
         queryEscaped("kubernetes.io/service-name=" + options_.service) +
         "&limit=" + std::to_string(options_.reflector.listLimit);
}

void KubernetesSliceSource::step() {
  double time = now();
  if (reflector_.watchIsStale(time)) {
    client_->cancel();
    reflector_.watchAbandoned(time);
    logEvent(LogLevel::Warn, "kubernetes_watch_stale",
             {{"service", options_.service}, {"namespace", options_.namespaceName}});
  }
  if (auto request = reflector_.next(time)) {
    running_ = request->kind;
    status_ = 0;
    body_.clear();
    tooLarge_ = false;
    std::string path = listPath();
    if (request->kind == SliceReflector::Request::Kind::List) {
      events_.reset();
      if (!request->continueToken.empty()) path += "&continue=" + queryEscaped(request->continueToken);
    } else {
      events_ = std::make_unique<JsonObjectStream>(options_.maxEventBytes);
      path += "&watch=1&allowWatchBookmarks=true&resourceVersion=" +
              queryEscaped(request->resourceVersion) +
              "&timeoutSeconds=" + std::to_string(request->timeoutSeconds);
    }
    client_->get(path, *this,
                 request->kind == SliceReflector::Request::Kind::List ? options_.listPageSeconds : 0);
  }
  armWake();
}

void KubernetesSliceSource::armWake() {
  std::optional<double> at = reflector_.wakeAt();
  if (!at) {
    wake_.cancel();
    return;
  }
  wake_.arm(std::max(0.0, *at - now()));
}

void KubernetesSliceSource::tell(uint64_t before, double arrivedAt) {
  if (onNews_) onNews_(reflector_.generation() != before, arrivedAt);
}

void KubernetesSliceSource::onResponseHead(int status) { status_ = status; }

std::optional<double> KubernetesSliceSource::takeListWork() {
  std::optional<double> work = completedListWork_;
  completedListWork_.reset();
  return work;
}

void KubernetesSliceSource::onResponseBody(std::string_view piece) {
  if (status_ != 200 || running_ == SliceReflector::Request::Kind::List) {
    // A list page, or an error's Status: gathered whole, within bounds.
    double started = now();
    if (body_.size() + piece.size() > options_.maxListBytes) {
      tooLarge_ = true;
      return;
    }
    body_.append(piece);
    listWork_ += now() - started;
    return;
  }
  double arrivedAt = now();
  uint64_t before = reflector_.generation();
  for (const std::string& object : events_->feed(piece)) {
    auto event = parseWatchEvent(object);
    if (auto* error = std::get_if<std::string>(&event)) {
      // Not an event of this protocol: this watch is of no more use. Opened again from
      // the last version, as after any failure.
      lastError_ = "watch: " + *error;
      client_->cancel();
      reflector_.requestFailed(0, now());
      tell(before, arrivedAt);
      armWake();
      return;
    }
    const WatchEvent& parsed = std::get<WatchEvent>(event);
    reflector_.watchEvent(parsed, now());
    if (parsed.type == WatchEvent::Type::Error) {
      lastError_ = "watch: " + std::to_string(parsed.status.code) + " " + parsed.status.message;
      client_->cancel();  // the server ends it anyway; the next request waits for nobody
      tell(before, arrivedAt);
      armWake();
      return;
    }
  }
  if (events_->failed()) {
    lastError_ = "watch: " + events_->error();
    client_->cancel();
    reflector_.requestFailed(0, now());
  }
  tell(before, arrivedAt);
  armWake();
}

void KubernetesSliceSource::onResponseDone(const std::string& error) {
  double time = now();
  double arrivedAt = time;
  uint64_t before = reflector_.generation();
  if (!error.empty()) {
    lastError_ = error;
    reflector_.requestFailed(0, time);
  } else if (status_ != 200) {
    ApiStatus answer = parseApiStatus(body_);
    lastError_ = "HTTP " + std::to_string(status_) +
                 (answer.message.empty() ? std::string() : ": " + answer.message);
    if (status_ == 401) client_->tokenRejected();
    reflector_.requestFailed(status_, time);
  } else if (running_ == SliceReflector::Request::Kind::Watch) {
    reflector_.watchEnded(time);
  } else if (tooLarge_) {
    lastError_ = "a list page over " + std::to_string(options_.maxListBytes) + " bytes";
    reflector_.requestFailed(0, time);
  } else {
    auto page = parseSliceListPage(body_);
    body_.clear();
    if (auto* problem = std::get_if<std::string>(&page)) {
      lastError_ = "list: " + *problem;
      reflector_.requestFailed(0, time);
      listWork_ = 0;
    } else {
      lastError_.clear();
      bool last = std::get<SliceListPage>(page).continueToken.empty();
      reflector_.listPage(std::move(std::get<SliceListPage>(page)), time);
      listWork_ += now() - time;
      if (last) {
        completedListWork_ = listWork_;
        listWork_ = 0;
      }
    }
  }
  if (!lastError_.empty()) {
    logEvent(LogLevel::Warn, "kubernetes_api_error",
             {{"service", options_.service},
              {"namespace", options_.namespaceName},
              {"error", lastError_}});
  }
  tell(before, arrivedAt);
  wake_.armNow();  // the next request, from the loop rather than from inside the client
}

}  // namespace readygate
