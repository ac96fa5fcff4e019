// Loads and validates a readygate YAML configuration into typed structs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace readygate {

struct ConfigLoadResult {
  std::optional<Config> config;       // set only when `errors` is empty
  std::vector<ConfigError> errors;    // every problem found, in file order of discovery
  std::vector<ConfigError> warnings;  // accepted, but worth telling (deprecated keys)
};

ConfigLoadResult loadConfigFile(const std::string& path);
ConfigLoadResult loadConfigText(const std::string& yamlText);

}  // namespace readygate
