// dropPrivileges implementation: initgroups, setgid, setuid, then a check that it holds.
#include "proxy/core/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace readygate {
namespace {

std::atomic<bool> dropped{false};

}  // namespace

std::optional<std::string> dropPrivileges(const std::string& user) {
  if (geteuid() != 0) return "not running as root";
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int error = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    return "no such user: " + user + (error != 0 ? std::string(" (") + strerror(error) + ")" : "");
  }
  // Groups first, uid last: after setuid there is no permission left to change the rest.
  if (initgroups(user.c_str(), entry.pw_gid) != 0) {
    return std::string("initgroups: ") + strerror(errno);
  }
  if (setgid(entry.pw_gid) != 0) return std::string("setgid: ") + strerror(errno);
  if (setuid(entry.pw_uid) != 0) return std::string("setuid: ") + strerror(errno);
  // glibc applies set*id to every thread; make sure root cannot be taken back.
  if (entry.pw_uid != 0 && setuid(0) == 0) return "root could be regained after setuid";
  dropped = true;
  return std::nullopt;
}

bool privilegesDropped() { return dropped; }

}  // namespace readygate
