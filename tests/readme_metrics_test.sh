#!/usr/bin/env bash
# Every metric in proxy/metrics/metric_catalog.h is listed in the README's Metrics table.
set -euo pipefail
top=$1
missing=0
# Names are the quoted readygate_/process_ strings (clang-format may put a name on the
# line after its `MetricInfo kName{`, so a one-line pattern would miss most of them).
names=$(grep -oE '"(readygate|process)_[a-z_]+"' "$top/proxy/metrics/metric_catalog.h" | tr -d '"')
[ "$(echo "$names" | wc -l)" -ge 30 ] || { echo "found only: $names"; exit 1; }
for name in $names; do
  grep -q "| \`$name\` |" "$top/README.md" || { echo "README does not list $name"; missing=1; }
done
exit $missing
