// Reading files the exporter does not control (under --path.procfs) without
// letting them hang or bloat it: opened non-blocking, only regular files, at
// most a cap of bytes.
#pragma once

#include <cstddef>
#include <string>

#include "exporter/status.h"

namespace netobs {

// procfs files are a few KiB; a file under --path.procfs above this is not
// what the kernel writes.
inline constexpr size_t kMaxProcFileBytes = size_t{1} << 20;

// Checks that `fd` (opened from `path`) is a regular file: a FIFO, socket or
// device under --path.procfs would block or stream forever.
Status check_regular_file(int fd, const std::string& path);

// Opens `path` read-only, non-blocking and close-on-exec and checks it is a
// regular file; the fd, or an error naming the file and the fix.
Result<int> open_proc_file(const std::string& path);

// Reads `fd` from offset 0 into `out` (resized to what was read), reading at
// most `max_bytes`: a file that is larger, or still growing at the cap, is
// refused. `path` names the file in the error.
Status read_proc_fd(int fd, const std::string& path, std::string& out,
                    size_t max_bytes = kMaxProcFileBytes);

// open_proc_file + read_proc_fd + close.
Status read_proc_file(const std::string& path, std::string& out,
                      size_t max_bytes = kMaxProcFileBytes);

}  // namespace netobs
