// The one way readygate reads a file it is told about: never blocking, regular files only,
// with a size cap.
#pragma once

#include <cctype>
#include <cstddef>
#include <string>
#include <variant>

namespace readygate {

/// Files readygate reads by default are capped here (`maxFileBytes` at the top level
/// of the configuration changes it for endpoints files and the token file).
inline constexpr size_t kDefaultMaxFileBytes = 64u << 20;

/// The whole content of `path`, or an error text saying why not. The path is opened
/// with O_NONBLOCK (a FIFO or a device never blocks the caller), must be a regular
/// file once symlinks are followed (a directory, a FIFO, /dev/zero, a socket are
/// refused), and may hold at most `maxBytes` (a file that grows while it is read is
/// refused once it passes the cap, never read forever).
std::variant<std::string, std::string> readRegularFile(const std::string& path,
                                                       size_t maxBytes = kDefaultMaxFileBytes);

/// The file's content when the read succeeded, else nullptr; `error` gets the reason.
inline const std::string* fileContent(const std::variant<std::string, std::string>& result) {
  return result.index() == 0 ? &std::get<0>(result) : nullptr;
}
/// `text` without its trailing whitespace: a file that holds one value (a token, a
/// namespace) usually ends with a newline.
inline std::string withoutTrailingWhitespace(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}
inline const std::string& fileError(const std::variant<std::string, std::string>& result) {
  return std::get<1>(result);
}

}  // namespace readygate
