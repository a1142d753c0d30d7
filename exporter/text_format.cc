#include "exporter/text_format.h"

#include <zlib.h>

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

void append_number(std::string& out, double value) {
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
  z_stream stream{};
  bool ready = false;
};

GzipCompressor::GzipCompressor() : state_(std::make_unique<State>()) {
  // windowBits 15 + 16: gzip header and trailer instead of zlib's.
  state_->ready = deflateInit2(&state_->stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                               Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipCompressor::~GzipCompressor() {
  if (state_->ready) deflateEnd(&state_->stream);
}

bool GzipCompressor::compress(std::string_view data, std::string& out) {
  if (!state_->ready || deflateReset(&state_->stream) != Z_OK) return false;
  z_stream& stream = state_->stream;
  // resize() keeps the capacity, so a reused buffer is not reallocated.
  out.resize(deflateBound(&stream, data.size()));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
    out.clear();
    return false;
  }
  out.resize(stream.total_out);
  return true;
}

}  // namespace netobs
