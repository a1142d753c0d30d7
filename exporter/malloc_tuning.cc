#include "exporter/malloc_tuning.h"

#include <malloc.h>

namespace netobs {

void tune_malloc() {
  mallopt(M_ARENA_MAX, 1);
  // Setting it at all also turns off glibc's dynamic threshold.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMallocMmapThreshold));
}

}  // namespace netobs
