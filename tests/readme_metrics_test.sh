#!/usr/bin/env bash
# Every metric in proxy/metrics/metric_catalog.h is listed in the README's Metrics table.
set -euo pipefail
top=$1
missing=0
for name in $(grep -o 'MetricInfo k[A-Za-z]*{"[a-z_]*"' "$top/proxy/metrics/metric_catalog.h" | cut -d'"' -f2); do
  grep -q "| \`$name\` |" "$top/README.md" || { echo "README does not list $name"; missing=1; }
done
exit $missing
