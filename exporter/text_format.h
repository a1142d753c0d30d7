// Renders metric families in the Prometheus text exposition format 0.0.4.
// Replaces prometheus::TextSerializer on the scrape path: it appends to one
// string with std::to_chars (shortest round-trip numbers) and is about 10x
// faster on the ~500 series of a default scrape (see tests/bench/snmp_bench.cc).
#pragma once

#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace netobs {

// Families without series are skipped (HELP/TYPE alone would be noise).
std::string render_text_format(const std::vector<prometheus::MetricFamily>& families);
// The same, appended to `out` (a buffer reused across scrapes keeps its capacity).
void render_text_format(const std::vector<prometheus::MetricFamily>& families, std::string& out);

// A gzip compressor (libdeflate, level 1) that keeps its state between
// calls: allocating it on every scrape would cost as much as compressing
// one. Not thread-safe: the HTTP server keeps a small pool, one in use per
// scrape.
class GzipCompressor {
 public:
  GzipCompressor();
  ~GzipCompressor();
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  // Replaces `out` with the gzip of `data` (out keeps its capacity); false on
  // failure.
  bool compress(std::string_view data, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace netobs
