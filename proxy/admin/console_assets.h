// The admin console's page, script, style and icon, compiled into the binary.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace readygate {

struct EmbeddedFile {
  std::string_view name;  // "index.html", "console.js", ...
  std::string_view bytes;
};

/// Every file of proxy/admin/console/ (generated at build time).
const std::vector<EmbeddedFile>& consoleFiles();

struct ConsoleAsset {
  std::string_view bytes;
  const char* contentType;
};

/// What the admin listener serves at `path`: "/" is the page, "/console/NAME" its files;
/// nullopt for anything else.
std::optional<ConsoleAsset> consoleAsset(std::string_view path);

}  // namespace readygate
