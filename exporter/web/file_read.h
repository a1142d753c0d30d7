// Reads a small file whole, with Go's os.ReadFile error texts
// ("open PATH: no such file or directory") that exporter-toolkit users know.
#pragma once

#include <string>

#include "exporter/status.h"

namespace netobs::web {

// Opened non-blocking and read up to `max_bytes`, so a FIFO or device at a
// wrong path cannot hang or bloat the exporter.
Result<std::string> read_small_file(const std::string& path, size_t max_bytes);

}  // namespace netobs::web
