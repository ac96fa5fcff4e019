// The standard process_* metrics, read from /proc at scrape time.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

namespace readygate::metrics {

void appendProcessMetrics(std::vector<prometheus::MetricFamily>& families);

}  // namespace readygate::metrics
