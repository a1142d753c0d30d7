// tune_malloc() must keep large blocks out of the heap for good: glibc's
// dynamic mmap threshold would otherwise move them into the heap after the
// first large block is freed, where they fragment it (RSS grew under a soak).
#include "exporter/malloc_tuning.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NETOBS_GLIBC_MALLOC 0  // the sanitizer's allocator replaces glibc's
#else
#define NETOBS_GLIBC_MALLOC 1
#endif

namespace netobs {
namespace {

// Blocks the allocator currently holds as separate mappings.
size_t mapped_blocks() { return mallinfo2().hblks; }

void* touched(size_t size) {
  void* p = std::malloc(size);
  if (p != nullptr) std::memset(p, 1, size);
  return p;
}

TEST(MallocTuning, LargeBlocksStayMappedAfterALargerOneWasFreed) {
  if (!NETOBS_GLIBC_MALLOC) GTEST_SKIP() << "built with a sanitizer: glibc malloc is not in use";
  tune_malloc();
  // Freeing a mapped 4 MiB block is what raises glibc's dynamic threshold.
  std::free(touched(4 << 20));
  const size_t before = mapped_blocks();
  void* block = touched(256 * 1024);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(mapped_blocks(), before + 1) << "a 256 KiB block came from the heap";
  std::free(block);
  EXPECT_EQ(mapped_blocks(), before) << "its mapping was not returned on free";
}

TEST(MallocTuning, BlocksFromTheThresholdUpAreMapped) {
  if (!NETOBS_GLIBC_MALLOC) GTEST_SKIP() << "built with a sanitizer: glibc malloc is not in use";
  tune_malloc();
  const size_t before = mapped_blocks();
  void* block = touched(kMallocMmapThreshold + 4096);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(mapped_blocks(), before + 1);
  std::free(block);
}

}  // namespace
}  // namespace netobs
