// Reading YAML into typed values while collecting every error with its path and position.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace readygate {

/// One problem in a config file, printed as
/// `services[0].listen: "0.0.0.0:80x": invalid port (line 4, column 13)`.
struct ConfigError {
  std::string path;
  std::string message;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string toString() const;
};

/// Collects errors so a file reports all its problems at once, not only the first.
class ConfigErrors {
 public:
  void add(std::string path, const YAML::Mark& mark, std::string message);
  /// For a bad value: quotes the value before the message.
  void addValue(std::string path, const YAML::Node& node, std::string_view message);
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<ConfigError>& list() const { return errors_; }
  /// Not an error (the file is accepted) but worth telling: a deprecated key, say.
  void warn(std::string path, const YAML::Mark& mark, std::string message);
  const std::vector<ConfigError>& warnings() const { return warnings_; }

 private:
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
};

/// Reads one YAML mapping: hands out known keys and reports, on `finish`, every key
/// that nobody asked for (typos must not pass silently) and every duplicate.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, ConfigErrors& errors);

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  std::string childPath(std::string_view key) const;
  const YAML::Mark& mark() const { return mark_; }

  /// The value under `key`, if present. Marks `key` as known.
  std::optional<YAML::Node> get(std::string_view key);
  /// Like `get`, but a missing key is an error.
  std::optional<YAML::Node> require(std::string_view key);
  /// Reports every key that no `get`/`require` asked for, suggesting near misses.
  void finish();

 private:
  YAML::Node node_;
  std::string path_;
  ConfigErrors& errors_;
  YAML::Mark mark_;
  bool valid_ = false;
  std::vector<std::string> seen_;
};

std::optional<std::string> readString(const YAML::Node& node, const std::string& path,
                                      ConfigErrors& errors);
std::optional<int> readInt(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                           int min, int max);
/// Seconds as in a pod spec; fractions allowed (an extension to Kubernetes).
/// Every duration has a ceiling: a day unless `max` says otherwise. (1e300 once passed
/// and made a timer fire continuously.)
inline constexpr double kMaxSeconds = 86400;
std::optional<double> readSeconds(const YAML::Node& node, const std::string& path,
                                  ConfigErrors& errors, double min, double max = kMaxSeconds);
std::optional<bool> readBool(const YAML::Node& node, const std::string& path, ConfigErrors& errors);

template <typename Enum>
std::optional<Enum> readEnum(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                             std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::optional<std::string> text = readString(node, path, errors);
  if (!text) return std::nullopt;
  std::string allowed;
  for (const auto& [name, value] : choices) {
    if (*text == name) return value;
    if (!allowed.empty()) allowed += ", ";
    allowed += name;
  }
  errors.addValue(path, node, "must be one of " + allowed);
  return std::nullopt;
}

/// Applies `read` to each item of a sequence, with paths `path[i]`.
template <typename ReadItem>
void forEachItem(const YAML::Node& node, const std::string& path, ConfigErrors& errors,
                 ReadItem&& read) {
  if (!node.IsSequence()) {
    errors.add(path, node.Mark(), "must be a list");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    read(node[i], path + "[" + std::to_string(i) + "]", i);
  }
}

}  // namespace readygate
