// consoleAsset: a request path to an embedded file and its media type.
#include "proxy/admin/console_assets.h"

namespace readygate {
namespace {

const char* contentTypeOf(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

std::optional<ConsoleAsset> consoleAsset(std::string_view path) {
  constexpr std::string_view kPrefix = "/console/";
  std::string_view name;
  if (path == "/") {
    name = "index.html";
  } else if (path.starts_with(kPrefix) && path != "/console/index.html") {
    name = path.substr(kPrefix.size());
  } else {
    return std::nullopt;
  }
  for (const EmbeddedFile& file : consoleFiles()) {
    if (file.name == name) return ConsoleAsset{file.bytes, contentTypeOf(name)};
  }
  return std::nullopt;
}

}  // namespace readygate
