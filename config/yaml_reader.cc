// YAML reading helpers that collect errors.
#include "config/yaml_reader.h"

#include <algorithm>
#include <cmath>

namespace readygate {
namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same = std::tolower(a[i - 1]) == std::tolower(b[j - 1]);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string quoted(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "(a list)";
  if (node.IsMap()) return "(a mapping)";
  return "(empty)";
}

}  // namespace

std::string ConfigError::toString() const {
  std::string text = path.empty() ? message : path + ": " + message;
  if (line > 0) {
    text += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  }
  return text;
}

namespace {

ConfigError located(std::string path, const YAML::Mark& mark, std::string message) {
  ConfigError error;
  error.path = std::move(path);
  error.message = std::move(message);
  // yaml-cpp marks are 0-based and -1 when the node has no position.
  if (mark.line >= 0) {
    error.line = mark.line + 1;
    error.column = mark.column + 1;
  }
  return error;
}

}  // namespace

void ConfigErrors::add(std::string path, const YAML::Mark& mark, std::string message) {
  errors_.push_back(located(std::move(path), mark, std::move(message)));
}

void ConfigErrors::warn(std::string path, const YAML::Mark& mark, std::string message) {
  warnings_.push_back(located(std::move(path), mark, std::move(message)));
}

void ConfigErrors::addValue(std::string path, const YAML::Node& node, std::string_view message) {
  add(std::move(path), node.Mark(), quoted(node) + ": " + std::string(message));
}

MapReader::MapReader(const YAML::Node& node, std::string path, ConfigErrors& errors)
    : node_(node), path_(std::move(path)), errors_(errors), mark_(node.Mark()) {
  if (!node.IsMap()) {
    errors_.add(path_, mark_, node.IsNull() ? "must not be empty" : "must be a mapping");
    return;
  }
  valid_ = true;
  std::vector<std::string> keys;
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      errors_.add(childPath(key), entry.first.Mark(), "duplicate key");
    }
    keys.push_back(key);
  }
}

std::string MapReader::childPath(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

std::optional<YAML::Node> MapReader::get(std::string_view key) {
  if (!valid_) return std::nullopt;
  seen_.emplace_back(key);
  for (const auto& entry : node_) {
    if (entry.first.Scalar() == key) return entry.second;
  }
  return std::nullopt;
}

std::optional<YAML::Node> MapReader::require(std::string_view key) {
  std::optional<YAML::Node> value = get(key);
  if (!value && valid_) errors_.add(childPath(key), mark_, "required");
  return value;
}

void MapReader::finish() {
  if (!valid_) return;
  for (const auto& entry : node_) {
    std::string key = entry.first.Scalar();
    if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) continue;
    std::string message = "unknown key";
    const std::string* closest = nullptr;
    size_t best = 3;  // suggest only near misses
    for (const std::string& known : seen_) {
      size_t distance = editDistance(key, known);
      if (distance < best) {
        best = distance;
        closest = &known;
      }
    }
    if (closest != nullptr) message += " (did you mean \"" + *closest + "\"?)";
    errors_.add(childPath(key), entry.first.Mark(), message);
  }
}

std::optional<std::string> readString(const YAML::Node& node, const std::string& path,
                                      ConfigErrors& errors) {
  if (!node.IsScalar()) {
    errors.addValue(path, node, "must be a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int> readInt(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                           int min, int max) {
  long value = 0;
  if (!node.IsScalar() || !YAML::convert<long>::decode(node, value)) {
    errors.addValue(path, node, "must be an integer");
    return std::nullopt;
  }
  if (value < min || value > max) {
    std::string range =
        max == std::numeric_limits<int>::max()
            ? "must be at least " + std::to_string(min)
            : "must be between " + std::to_string(min) + " and " + std::to_string(max);
    errors.addValue(path, node, range);
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<double> readSeconds(const YAML::Node& node, const std::string& path,
                                  ConfigErrors& errors, double min, double max) {
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !std::isfinite(value)) {
    errors.addValue(path, node, "must be a number of seconds");
    return std::nullopt;
  }
  if (value < min) {
    char text[64];
    snprintf(text, sizeof text, "must be at least %g", min);
    errors.addValue(path, node, text);
    return std::nullopt;
  }
  if (value > max) {
    char text[64];
    snprintf(text, sizeof text, "must be at most %g", max);
    errors.addValue(path, node, text);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> readBool(const YAML::Node& node, const std::string& path,
                             ConfigErrors& errors) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    errors.addValue(path, node, "must be true or false");
    return std::nullopt;
  }
  return value;
}

}  // namespace readygate
