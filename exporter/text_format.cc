#include "exporter/text_format.h"

#include <libdeflate.h>

#include <charconv>
#include <cmath>

namespace netobs {
namespace {

// Appends runs between the characters that need escaping in one call each
// (label values and help texts rarely have any): a per-character append
// was a tenth of a scrape's instructions.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\\' && c != '\n' && !(quote && c == '"')) continue;
    out.append(text.substr(run, i - run));
    out += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "\\\"";
    run = i + 1;
  }
  out.append(text.substr(run));
}

// std::to_chars(double) prints the shortest text that reads back as the
// value, fixed or scientific ("1e+08"), fixed on a tie. Most values of a
// scrape are counters: whole numbers below 2^53, which integer formatting
// prints several times faster. Returns false when the value is not one, or
// when the scientific form would be shorter (then to_chars decides).
bool append_whole_number(std::string& out, double value) {
  // -0.0 compares equal to 0 but prints "-0".
  if (!(value >= 0 && value < 9007199254740992.0) || std::signbit(value)) return false;  // 2^53
  const auto whole = static_cast<uint64_t>(value);
  if (static_cast<double>(whole) != value) return false;
  char buffer[24];
  char* end = std::to_chars(buffer, buffer + sizeof(buffer), whole).ptr;
  const auto digits = static_cast<size_t>(end - buffer);
  size_t zeros = 0;
  while (zeros + 1 < digits && buffer[digits - 1 - zeros] == '0') ++zeros;
  // Scientific: the significant digits, a '.' after the first when there are
  // more, and "e+NN" (the exponent digits - 1 is below 16: two digits).
  const size_t significant = digits - zeros;
  const size_t scientific = significant + (significant > 1 ? 1 : 0) + 4;
  if (scientific < digits) return false;
  out.append(buffer, end);
  return true;
}

void append_number(std::string& out, double value) {
  if (append_whole_number(out, value)) return;
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, end);
  }
}

void append_uint(std::string& out, uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, end);
}

// name{labels[,extra_name="extra_value"]} — extra is the histogram's `le`.
void append_series(std::string& out, const std::string& name, std::string_view suffix,
                   const prometheus::ClientMetric& metric, const char* extra_name = nullptr,
                   double extra_value = 0) {
  out += name;
  out += suffix;
  if (!metric.label.empty() || extra_name != nullptr) {
    out += '{';
    bool first = true;
    for (const auto& label : metric.label) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      append_escaped(out, label.value, true);
      out += '"';
    }
    if (extra_name != nullptr) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      append_number(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

std::string_view type_name(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Untyped:
      return "untyped";
  }
  return "untyped";
}

void append_metric(std::string& out, const prometheus::MetricFamily& family,
                   const prometheus::ClientMetric& metric) {
  switch (family.type) {
    case prometheus::MetricType::Counter:
      append_series(out, family.name, "", metric);
      append_number(out, metric.counter.value);
      out += '\n';
      break;
    case prometheus::MetricType::Gauge:
      append_series(out, family.name, "", metric);
      append_number(out, metric.gauge.value);
      out += '\n';
      break;
    case prometheus::MetricType::Untyped:
      append_series(out, family.name, "", metric);
      append_number(out, metric.untyped.value);
      out += '\n';
      break;
    case prometheus::MetricType::Histogram:
      for (const auto& bucket : metric.histogram.bucket) {
        append_series(out, family.name, "_bucket", metric, "le", bucket.upper_bound);
        append_uint(out, bucket.cumulative_count);
        out += '\n';
      }
      append_series(out, family.name, "_sum", metric);
      append_number(out, metric.histogram.sample_sum);
      out += '\n';
      append_series(out, family.name, "_count", metric);
      append_uint(out, metric.histogram.sample_count);
      out += '\n';
      break;
    case prometheus::MetricType::Summary:
      for (const auto& quantile : metric.summary.quantile) {
        append_series(out, family.name, "", metric, "quantile", quantile.quantile);
        append_number(out, quantile.value);
        out += '\n';
      }
      append_series(out, family.name, "_sum", metric);
      append_number(out, metric.summary.sample_sum);
      out += '\n';
      append_series(out, family.name, "_count", metric);
      append_uint(out, metric.summary.sample_count);
      out += '\n';
      break;
  }
}

}  // namespace

std::string render_text_format(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  out.reserve(64 * 1024);
  render_text_format(families, out);
  return out;
}

void render_text_format(const std::vector<prometheus::MetricFamily>& families, std::string& out) {
  for (const auto& family : families) {
    if (family.metric.empty()) continue;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    append_escaped(out, family.help, false);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += type_name(family.type);
    out += '\n';
    for (const auto& metric : family.metric) append_metric(out, family, metric);
  }
}

struct GzipCompressor::State {
  libdeflate_compressor* compressor = nullptr;
};

GzipCompressor::GzipCompressor() : state_(std::make_unique<State>()) {
  // Level 1: libdeflate's fastest, about twice zlib's level-1 speed on a
  // scrape and a smaller result (tests/bench/snmp_bench.cc BM_GzipOnly).
  state_->compressor = libdeflate_alloc_compressor(1);
}

GzipCompressor::~GzipCompressor() { libdeflate_free_compressor(state_->compressor); }

bool GzipCompressor::compress(std::string_view data, std::string& out) {
  if (state_->compressor == nullptr) return false;
  // resize() keeps the capacity, so a reused buffer is not reallocated.
  out.resize(libdeflate_gzip_compress_bound(state_->compressor, data.size()));
  const size_t size = libdeflate_gzip_compress(state_->compressor, data.data(), data.size(),
                                               out.data(), out.size());
  out.resize(size);
  return size != 0;
}

}  // namespace netobs
