// Cost of the snmp collector's hot paths: parsing the three /proc/net files,
// rendering every field to Prometheus text, and a whole collector scrape.
#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>

#include <charconv>
#include <sstream>
#include <string>

#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/snmp_collector.h"
#include "collectors/snmp/snmp_metrics.h"
#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/text_format.h"

namespace netobs {
namespace {

struct Texts {
  std::string snmp, netstat, snmp6;
};

const Texts& fixture_texts() {
  static const Texts texts = [] {
    Texts t;
    std::string base = std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/real/net/";
    read_small_file(base + "snmp", t.snmp);
    read_small_file(base + "netstat", t.netstat);
    read_small_file(base + "snmp6", t.snmp6);
    return t;
  }();
  return texts;
}

// Parsing only, from text already in memory (this machine's files, 6.18).
void BM_ParseAllThree(benchmark::State& state) {
  const Texts& t = fixture_texts();
  size_t fields = 0;
  for (auto _ : state) {
    MibSnapshot snapshot = parse_mib_texts(t.snmp, t.netstat, t.snmp6);
    fields = snapshot.parsed.entries.size();
    benchmark::DoNotOptimize(snapshot);
  }
  state.counters["fields"] = static_cast<double>(fields);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(t.snmp.size() + t.netstat.size() + t.snmp6.size()));
}
BENCHMARK(BM_ParseAllThree);

// Reading the live files (three open/read/close on procfs) and parsing them.
void BM_ReadAndParseProc(benchmark::State& state) {
  for (auto _ : state) {
    MibSnapshot snapshot = read_mib_snapshot("/proc");
    benchmark::DoNotOptimize(snapshot);
  }
}
BENCHMARK(BM_ReadAndParseProc);

// Parse + render every field to Prometheus text: the headline figure.
void BM_ParseAndRenderText(benchmark::State& state) {
  const Texts& t = fixture_texts();
  size_t bytes = 0;
  for (auto _ : state) {
    MibSnapshot snapshot = parse_mib_texts(t.snmp, t.netstat, t.snmp6);
    std::vector<prometheus::MetricFamily> families;
    append_mib_families(snapshot.parsed.entries, families);
    append_parse_error_family(snapshot.errors_per_file, families);
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    bytes = out.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["text_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ParseAndRenderText);

// The two halves of the above: building the families, and prometheus-cpp's
// TextSerializer (which the exporter's HTTP handler runs on them).
void BM_BuildFamiliesOnly(benchmark::State& state) {
  const Texts& t = fixture_texts();
  MibSnapshot snapshot = parse_mib_texts(t.snmp, t.netstat, t.snmp6);
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families;
    append_mib_families(snapshot.parsed.entries, families);
    append_parse_error_family(snapshot.errors_per_file, families);
    benchmark::DoNotOptimize(families);
  }
}
BENCHMARK(BM_BuildFamiliesOnly);

void BM_SerializeOnly(benchmark::State& state) {
  const Texts& t = fixture_texts();
  MibSnapshot snapshot = parse_mib_texts(t.snmp, t.netstat, t.snmp6);
  std::vector<prometheus::MetricFamily> families;
  append_mib_families(snapshot.parsed.entries, families);
  append_parse_error_family(snapshot.errors_per_file, families);
  for (auto _ : state) {
    std::string text = prometheus::TextSerializer().Serialize(families);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_SerializeOnly);

// For comparison only (not used by netobs): a text-format writer for counter
// and gauge families that appends to one std::string with std::to_chars
// instead of going through std::ostream as prometheus-cpp 1.0 does. It shows
// how much of a scrape is the serializer rather than the collector.
std::string append_only_text(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  out.reserve(64 * 1024);
  auto escape = [&out](const std::string& text, bool quote) {
    for (char c : text) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (quote && c == '"') {
        out += "\\\"";
      } else {
        out += c;
      }
    }
  };
  char number[64];
  for (const prometheus::MetricFamily& family : families) {
    bool counter = family.type == prometheus::MetricType::Counter;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    escape(family.help, false);
    out += "\n# TYPE ";
    out += family.name;
    out += counter ? " counter\n" : " gauge\n";
    for (const prometheus::ClientMetric& metric : family.metric) {
      out += family.name;
      if (!metric.label.empty()) {
        out += '{';
        for (size_t i = 0; i < metric.label.size(); ++i) {
          if (i) out += ',';
          out += metric.label[i].name;
          out += "=\"";
          escape(metric.label[i].value, true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      double value = counter ? metric.counter.value : metric.gauge.value;
      auto [end, ec] = std::to_chars(number, number + sizeof number, value);
      out.append(number, end);
      out += '\n';
    }
  }
  return out;
}

void BM_AppendOnlySerializeForComparison(benchmark::State& state) {
  const Texts& t = fixture_texts();
  MibSnapshot snapshot = parse_mib_texts(t.snmp, t.netstat, t.snmp6);
  std::vector<prometheus::MetricFamily> families;
  append_mib_families(snapshot.parsed.entries, families);
  append_parse_error_family(snapshot.errors_per_file, families);
  for (auto _ : state) {
    std::string text = append_only_text(families);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_AppendOnlySerializeForComparison);

// A collector started on the live /proc with a full 15-minute history
// (rates for 23 counters x 3 windows, 21 ratios, verdicts).
struct LiveCollector {
  Config config;
  PreflightReport preflight;
  double clock = 0;
  SnmpCollector collector{SnmpCollector::TestHooks{[this] { return clock; }, false}};
  bool started = false;
  LiveCollector() {
    config.exporter.procfs = "/proc";
    started = collector.start({config, preflight}).is_ok();
    for (int i = 0; started && i <= 180; ++i) {
      clock = i * 5.0;
      collector.sample_now();
    }
  }
  ~LiveCollector() { collector.stop(); }
};

// collect() alone: read + parse the three files, build every family.
void BM_CollectOnly(benchmark::State& state) {
  LiveCollector live;
  if (!live.started) return state.SkipWithError("collector did not start");
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families;
    if (!live.collector.collect(families).is_ok()) state.SkipWithError("collect failed");
    benchmark::DoNotOptimize(families);
  }
}
BENCHMARK(BM_CollectOnly);

// netobs's own text renderer (exporter/text_format.cc) on one scrape's families.
void BM_RenderTextFormatOnly(benchmark::State& state) {
  LiveCollector live;
  if (!live.started) return state.SkipWithError("collector did not start");
  std::vector<prometheus::MetricFamily> families;
  if (!live.collector.collect(families).is_ok()) return state.SkipWithError("collect failed");
  std::string body;
  for (auto _ : state) {
    body.clear();
    render_text_format(families, body);
    benchmark::DoNotOptimize(body);
  }
  state.counters["text_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_RenderTextFormatOnly);

// gzip of one scrape's body with the reused compressor the HTTP server keeps.
void BM_GzipOnly(benchmark::State& state) {
  LiveCollector live;
  if (!live.started) return state.SkipWithError("collector did not start");
  std::vector<prometheus::MetricFamily> families;
  if (!live.collector.collect(families).is_ok()) return state.SkipWithError("collect failed");
  const std::string body = render_text_format(families);
  GzipCompressor gzip;
  std::string compressed;
  for (auto _ : state) {
    if (!gzip.compress(body, compressed)) state.SkipWithError("gzip failed");
    benchmark::DoNotOptimize(compressed);
  }
  state.counters["gz_bytes"] = static_cast<double>(compressed.size());
}
BENCHMARK(BM_GzipOnly);

// A whole collector scrape as the HTTP handler serves it: collect(), render
// with netobs's renderer into a reused buffer, gzip with the reused state.
void BM_CollectorScrape(benchmark::State& state) {
  LiveCollector live;
  if (!live.started) return state.SkipWithError("collector did not start");
  std::string body;
  std::string compressed;
  GzipCompressor gzip;
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families;
    if (!live.collector.collect(families).is_ok()) state.SkipWithError("collect failed");
    body.clear();
    render_text_format(families, body);
    if (!gzip.compress(body, compressed)) state.SkipWithError("gzip failed");
    benchmark::DoNotOptimize(compressed);
  }
}
BENCHMARK(BM_CollectorScrape);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
