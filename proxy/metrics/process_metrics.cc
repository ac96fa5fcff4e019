// Process metrics from /proc/self.
#include "proxy/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "proxy/metrics/metric_catalog.h"

namespace readygate::metrics {
namespace {

prometheus::MetricFamily single(const MetricInfo& info, double value) {
  prometheus::MetricFamily family{info.name, info.help, info.type, {}};
  prometheus::ClientMetric metric;
  if (info.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

double bootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  while (stat >> key) {
    if (key == "btime") {
      double seconds = 0;
      stat >> seconds;
      return seconds;
    }
    stat.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace

void appendProcessMetrics(std::vector<prometheus::MetricFamily>& families) {
  std::ifstream statFile("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
  // Fields after the command name, which may contain spaces, start after the last ')'.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> values{std::istream_iterator<std::string>(fields),
                                  std::istream_iterator<std::string>()};
  if (values.size() > 22) {
    double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    // Indexes are field numbers from proc(5) minus 3 (pid and comm are gone).
    families.push_back(
        single(kCpuSeconds, (std::stod(values[11]) + std::stod(values[12])) / ticks));
    families.push_back(single(kStartTime, bootTimeSeconds() + std::stod(values[19]) / ticks));
    families.push_back(single(kVirtualMemory, std::stod(values[20])));
    families.push_back(single(kResidentMemory, std::stod(values[21]) * page));
  }
  size_t open = 0;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++open;
  }
  families.push_back(single(kOpenFds, static_cast<double>(open)));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    families.push_back(single(kMaxFds, static_cast<double>(limit.rlim_cur)));
  }
}

}  // namespace readygate::metrics
