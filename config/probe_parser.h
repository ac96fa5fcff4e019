// Parses a Kubernetes probe block (readinessProbe, livenessProbe, startupProbe).
#pragma once

#include <optional>
#include <string>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace readygate {

/// Reads one probe with Kubernetes field names and defaults; errors go to `errors`.
std::optional<ProbeSpec> parseProbe(const YAML::Node& node, const std::string& path, ProbeKind kind,
                                    ConfigErrors& errors);

}  // namespace readygate
