#include "exporter/web/openssl_names.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

namespace netobs::web {
namespace {

std::string executable_dir() {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return ".";
  std::string exe(path, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/'));
}

}  // namespace

Status load_openssl_for_civetweb() {
  const std::string dir = executable_dir();
  // Installed layout first, then the build tree (libraries beside the binary).
  const std::vector<std::string> dirs = {dir + "/../lib/netobs", dir};
  std::string errors;
  for (const char* name : {"libnetobs_openssl_crypto.so", "libnetobs_openssl_ssl.so"}) {
    bool loaded = false;
    for (const auto& candidate : dirs) {
      const std::string path = candidate + "/" + name;
      if (access(path.c_str(), R_OK) != 0) continue;
      if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) {
        loaded = true;
        break;
      }
      errors += std::string(" ") + dlerror() + ";";
    }
    if (!loaded) {
      return Status::error(std::string("cannot load ") + name + " from " + dirs[0] + " or " +
                           dirs[1] + ":" + errors +
                           " (it comes with netobs; reinstall the package)");
    }
  }
  return Status::ok();
}

}  // namespace netobs::web
