// readRegularFile: open non-blocking, check the kind after the open, read up to the cap.
#include "proxy/core/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace readygate {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::variant<std::string, std::string> readRegularFile(const std::string& path, size_t maxBytes) {
  using Result = std::variant<std::string, std::string>;
  auto failure = [](std::string text) { return Result(std::in_place_index<1>, std::move(text)); };
  // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever. The kind is
  // checked on the descriptor, after the open, so a swap between a stat and the open
  // cannot slip a FIFO or a device in.
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (file.get() < 0) return failure(std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (fstat(file.get(), &info) != 0) {
    return failure(std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) return failure("is " + kindOf(info.st_mode) + ", not a regular file");
  if (static_cast<unsigned long long>(info.st_size) > maxBytes) {
    return failure("is " + std::to_string(info.st_size) + " bytes, more than the limit of " +
                   std::to_string(maxBytes));
  }
  std::string content;
  content.reserve(static_cast<size_t>(info.st_size));
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(file.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      return failure(std::string("cannot read: ") + std::strerror(errno));
    }
    if (got == 0) break;
    if (content.size() + static_cast<size_t>(got) > maxBytes) {
      return failure("grew past the limit of " + std::to_string(maxBytes) + " bytes while read");
    }
    content.append(buffer, static_cast<size_t>(got));
  }
  return Result(std::in_place_index<0>, std::move(content));
}

}  // namespace readygate
