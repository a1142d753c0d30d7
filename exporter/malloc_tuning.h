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

// glibc gives each thread a cache of small freed blocks (tcache) that only
// that thread reuses. Every one of civetweb's connection threads that served
// a scrape keeps ~14 KiB there (3.6 MiB after 300 scrapes; scrape CPU the
// same without the caches, measured), and glibc reads the switch only at
// start: unless GLIBC_TUNABLES already says otherwise, execute the program
// again with glibc.malloc.tcache_count=0. In the restarted process it puts
// GLIBC_TUNABLES back as it was, so no child inherits it. Returns if the
// exec fails (then the caches stay). Call first in main().
void restart_without_thread_caches(char** argv);

}  // namespace netobs
