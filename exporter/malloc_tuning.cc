#include "exporter/malloc_tuning.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace netobs {

namespace {

constexpr char kTunables[] = "GLIBC_TUNABLES";
constexpr char kNoThreadCaches[] = "glibc.malloc.tcache_count=0";
// Set on the restart: GLIBC_TUNABLES as it was before ("" when unset).
constexpr char kRestartedFrom[] = "NETOBS_GLIBC_TUNABLES_BEFORE";

}  // namespace

void restart_without_thread_caches(char** argv) {
  if (const char* before = std::getenv(kRestartedFrom)) {
    if (*before != '\0') {
      setenv(kTunables, before, 1);
    } else {
      unsetenv(kTunables);
    }
    unsetenv(kRestartedFrom);
    return;
  }
  const char* current = std::getenv(kTunables);
  const std::string before = current != nullptr ? current : "";
  if (before.find("glibc.malloc.tcache_count") != std::string::npos) return;  // the user's choice
  const std::string tunables = before.empty() ? kNoThreadCaches : before + ":" + kNoThreadCaches;
  setenv(kTunables, tunables.c_str(), 1);
  setenv(kRestartedFrom, before.c_str(), 1);
  // The resolved path, not /proc/self/exe: the process name (comm) is taken
  // from the path executed, and would become "exe".
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length > 0) {
    self[length] = '\0';
    execv(self, argv);
  }
  // No /proc, or the binary was replaced or removed: go on with the caches.
  if (current != nullptr) {
    setenv(kTunables, before.c_str(), 1);
  } else {
    unsetenv(kTunables);
  }
  unsetenv(kRestartedFrom);
}

void tune_malloc() {
  mallopt(M_ARENA_MAX, 1);
  // Setting it at all also turns off glibc's dynamic threshold.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMallocMmapThreshold));
}

}  // namespace netobs
