#include "exporter/bpf/skeleton.h"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <utility>

namespace netobs {
namespace {

std::mutex g_bytes_mutex;
std::set<std::pair<const void*, size_t>> g_bytes;  // guarded by g_bytes_mutex

}  // namespace

void note_skeleton_bytes(const void* data, size_t size) {
  if (data == nullptr || size == 0) return;
  std::lock_guard<std::mutex> lock(g_bytes_mutex);
  g_bytes.emplace(data, size);
}

void release_skeleton_bytes() {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  std::lock_guard<std::mutex> lock(g_bytes_mutex);
  for (const auto& [data, size] : g_bytes) {
    // Whole pages inside the object only: its neighbours in .rodata stay.
    const uintptr_t start = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
    if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  }
}

}  // namespace netobs
