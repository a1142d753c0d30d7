// glibc malloc settings for a long-running exporter whose scrapes allocate
// and free thousands of small objects on several threads at once.
#pragma once

#include <cstddef>

namespace netobs {

// Allocations from this size up get their own mapping, returned to the
// kernel on free.
constexpr size_t kMallocMmapThreshold = 64 * 1024;

// One arena (the exporter allocates little from several threads at once;
// each extra arena keeps its own freed memory resident) and a fixed mmap
// threshold. glibc raises the threshold to the size of every mapped block
// freed (up to 32 MiB): after the first large map read or response body,
// such blocks come from the heap, and blocks of a few hundred KiB freed
// between long-lived small objects leave holes the heap only grows around
// (RSS grew ~26 MiB/h under 50 scrapes/s). Call once, before any thread.
void tune_malloc();

}  // namespace netobs
