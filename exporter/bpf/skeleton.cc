#include "exporter/bpf/skeleton.h"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <utility>

namespace netobs {
namespace {

// Constructed on first use: skeletons note their bytes from static
// initializers in other files.
std::mutex g_bytes_mutex;                                  // constant-initialised
std::set<std::pair<const void*, size_t>>& noted_bytes() {  // guarded by g_bytes_mutex
  static std::set<std::pair<const void*, size_t>> bytes;
  return bytes;
}

}  // namespace

void note_skeleton_bytes(const void* data, size_t size) {
  if (data == nullptr || size == 0) return;
  std::lock_guard<std::mutex> lock(g_bytes_mutex);
  noted_bytes().emplace(data, size);
}

void release_skeleton_bytes() {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  std::lock_guard<std::mutex> lock(g_bytes_mutex);
  for (const auto& [data, size] : noted_bytes()) {
    // Whole pages inside the object only: its neighbours in .rodata stay.
    const uintptr_t start = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
    if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  }
}

}  // namespace netobs
