// Per-packet cost of the dns programs, each as a ratio to an empty program
// of its own type (the socket filter dns_filter to dns_empty, the tc program
// dns_tc_ingress to tc_empty, both in the bench-only packet_baseline.bpf.c), measured with
// BPF_PROG_TEST_RUN, interleaved in the same run (needs root):
//   build/tests/bench/dns_bpf_bench --benchmark_repetitions=5
// ns_per_packet is the kernel's own average (test-run duration / repeat).
// Non-DNS packets run with repeat = 1e5 per iteration. A correlated response
// needs a fresh query before it, so each iteration runs one query (untimed)
// and then times one response with repeat = 1; the empty program is timed
// the same way (BM_Empty_Single) for the ratio. Answered entries stay in the
// correlation map until a sweep removes them (as the collector's sweeper
// thread does every <= 0.5 s): the loops sweep every kSweepEvery iterations,
// untimed, so the map stays far from LRU eviction as it does in service.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "collectors/dns/dns_collector.h"
#include "exporter/builtin_config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/bpf/skeleton.h"
#include "packet_baseline.skel.h"
#include "tests/support/dns_message_builder.h"
#include "tests/support/packet_builder.h"

namespace netobs {
namespace {

using testing::DnsMessageBuilder;
using testing::PacketBuilder;

constexpr char kSrcMac[] = "00:00:00:00:00:01";
constexpr char kDstMac[] = "00:00:00:00:00:00";  // PACKET_HOST on the test-run loopback
constexpr int kRepeat = 100000;
constexpr uint16_t kSweepEvery = 1024;

struct Fixture {
  Config config;
  PreflightReport preflight;
  std::unique_ptr<DnsCollector> collector;
  SkeletonPtr<packet_baseline_bpf> baseline;  // dns_empty, dns_floor, tc_empty
  int empty_fd() const { return bpf_program__fd(baseline->progs.dns_empty); }
  int floor_fd() const { return bpf_program__fd(baseline->progs.dns_floor); }
  int tc_empty_fd() const { return bpf_program__fd(baseline->progs.tc_empty); }
};

// filtered: with the network.* CIDR and port filters on (the query's server
// 192.0.2.53 is in include_cidrs, not in exclude_cidrs: every lookup done,
// nothing left out).
Fixture& make_fixture(bool filtered) {
  auto* fx = new Fixture;
  fx->config = load_config_string("{}\n", "bench").config;
  if (filtered) {
    fx->config.network.include_cidrs = {"192.0.2.0/24", "10.0.0.0/8"};
    fx->config.network.exclude_cidrs = {"192.0.2.128/25", "203.0.113.0/24"};
    fx->config.network.exclude_ports = {22};
  }
  fx->preflight = run_preflight({.allow_mount = false});
  DnsCollector::Options options;
  options.attach_socket = false;
  options.manual_sweep = true;
  options.loopback_dedupe = false;
  fx->collector = std::make_unique<DnsCollector>(options);
  Status started = fx->collector->start({fx->config, fx->preflight});
  if (!started) {
    std::fprintf(stderr, "dns_bpf_bench: cannot load the dns programs (root?): %s\n",
                 started.message().c_str());
    std::exit(1);
  }
  fx->baseline = open_skeleton<packet_baseline_bpf>();
  if (!fx->baseline || packet_baseline_bpf::load(fx->baseline.get()) != 0) {
    std::fprintf(stderr, "dns_bpf_bench: cannot load packet_baseline.bpf.o\n");
    std::exit(1);
  }
  return *fx;
}

Fixture& fixture(bool filtered = false) {
  static Fixture& plain = make_fixture(false);
  if (!filtered) return plain;
  static Fixture& with_filters = make_fixture(true);
  return with_filters;
}

std::vector<uint8_t> udp(uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
  return PacketBuilder()
      .eth(kSrcMac, kDstMac)
      .ipv4("192.0.2.10", "192.0.2.53")
      .udp(sport, dport)
      .payload(payload)
      .build();
}

std::vector<uint8_t> query(uint16_t id) {
  return udp(40000, 53, DnsMessageBuilder().id(id).question("bench.example.com", 1).build());
}

std::vector<uint8_t> response(uint16_t id) {
  return PacketBuilder()
      .eth(kSrcMac, kDstMac)
      .ipv4("192.0.2.53", "192.0.2.10")
      .udp(53, 40000)
      .payload(DnsMessageBuilder()
                   .id(id)
                   .response()
                   .question("bench.example.com", 1)
                   .answer_a("bench.example.com", "10.0.0.1")
                   .compress()
                   .build())
      .build();
}

// One test run; returns the kernel's average ns per run.
uint32_t test_run(int prog, const std::vector<uint8_t>& packet, int repeat) {
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
              .data_size_in = static_cast<__u32>(packet.size()), .repeat = repeat);
  if (bpf_prog_test_run_opts(prog, &opts) != 0) {
    std::perror("BPF_PROG_TEST_RUN");
    std::exit(1);
  }
  return opts.duration;
}

void run_repeated(benchmark::State& state, bool empty, const std::vector<uint8_t>& packet) {
  Fixture& f = fixture();
  const int prog = empty ? f.empty_fd() : f.collector->filter_prog_fd();
  double total = 0;
  for (auto _ : state) {
    const uint32_t ns = test_run(prog, packet, kRepeat);
    state.SetIterationTime(static_cast<double>(ns) * kRepeat * 1e-9);
    total += ns;
  }
  state.counters["ns_per_packet"] = total / static_cast<double>(state.iterations());
}

void BM_Empty_NonDns(benchmark::State& state) {
  run_repeated(state, true, udp(40000, 443, std::vector<uint8_t>(64, 0xAB)));
}
void BM_Filter_NonDnsUdp(benchmark::State& state) {
  run_repeated(state, false, udp(40000, 443, std::vector<uint8_t>(64, 0xAB)));
}
void BM_Filter_NonDnsTcp(benchmark::State& state) {
  run_repeated(state, false,
               PacketBuilder()
                   .eth(kSrcMac, kDstMac)
                   .ipv4("192.0.2.10", "192.0.2.80")
                   .tcp(40000, 443)
                   .payload(64)
                   .build());
}
// A response nobody asked for: parse + one map miss.
void BM_Filter_UnmatchedResponse(benchmark::State& state) {
  run_repeated(state, false, response(9999));
}

void run_single(benchmark::State& state, bool empty) {
  Fixture& f = fixture();
  const int filter = f.collector->filter_prog_fd();
  const int prog = empty ? f.empty_fd() : filter;
  uint16_t id = 0;
  double total = 0;
  for (auto _ : state) {
    ++id;
    const auto q = query(id);
    const auto r = response(id);
    if (id % kSweepEvery == 0) f.collector->sweep_now();  // untimed
    test_run(filter, q, 1);  // the query the response correlates with (untimed)
    const uint32_t ns = test_run(prog, r, 1);
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    total += ns;
  }
  state.counters["ns_per_packet"] = total / static_cast<double>(state.iterations());
}

void BM_Empty_Single(benchmark::State& state) { run_single(state, true); }
// Header parse, LRU lookup + delete, latency histogram update.
void BM_Filter_CorrelatedResponse(benchmark::State& state) { run_single(state, false); }

// A query: header + name walk + LRU insert + per-CPU stats (timed alone).
void BM_Filter_Query(benchmark::State& state) {
  Fixture& f = fixture();
  uint16_t id = 0;
  double total = 0;
  for (auto _ : state) {
    ++id;
    if (id % kSweepEvery == 0) f.collector->sweep_now();  // untimed
    const uint32_t ns = test_run(f.collector->filter_prog_fd(), query(id), 1);
    test_run(f.collector->filter_prog_fd(), response(id), 1);  // answer it (untimed)
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    total += ns;
  }
  state.counters["ns_per_packet"] = total / static_cast<double>(state.iterations());
}

// The programs one ratio compares: the socket filter or the tc program, and
// the empty program of the same type. Queries for the correlated-response
// runs go through the same hook (tc: egress, as a query leaving the host).
struct Hook {
  int prog;
  int empty;
  int query_prog;
};

Hook socket_hook(Fixture& f) {
  return {f.collector->filter_prog_fd(), f.empty_fd(), f.collector->filter_prog_fd()};
}

Hook tc_hook(Fixture& f) {
  return {f.collector->tc_prog_fd(false), f.tc_empty_fd(), f.collector->tc_prog_fd(true)};
}

// Ratios measured interleaved (empty, filter, empty, filter, ...) so that
// drift from other load on the machine hits both alike; the counter is the
// median of the per-pair ratios.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// bpf_stats_on: whether the kernel's BPF run-time stats were on during the
// run (some other process holding bpf_enable_stats); they add two clock
// reads to every run, the empty program's included, which lowers ratios.
void BM_Ratio_NonDns(benchmark::State& state) {
  Fixture& f = fixture();
  const auto packet = udp(40000, 443, std::vector<uint8_t>(64, 0xAB));
  std::vector<double> ratios;
  bpf_prog_info before{};
  __u32 len = sizeof(before);
  bpf_obj_get_info_by_fd(f.empty_fd(), &before, &len);
  std::vector<double> floors, tc_ratios, filter_ns, empty_ns, tc_ns, tc_empty_ns;
  const Hook tc = tc_hook(f);
  for (auto _ : state) {
    const double empty = test_run(f.empty_fd(), packet, kRepeat);
    const double floor = test_run(f.floor_fd(), packet, kRepeat);
    const double filter = test_run(f.collector->filter_prog_fd(), packet, kRepeat);
    const double tc_empty = test_run(tc.empty, packet, kRepeat);
    const double tc_prog = test_run(tc.prog, packet, kRepeat);
    state.SetIterationTime(filter * kRepeat * 1e-9);
    if (empty > 0) {
      ratios.push_back(filter / empty);
      floors.push_back(floor / empty);
    }
    if (tc_empty > 0) tc_ratios.push_back(tc_prog / tc_empty);
    filter_ns.push_back(filter);
    empty_ns.push_back(empty);
    tc_ns.push_back(tc_prog);
    tc_empty_ns.push_back(tc_empty);
  }
  state.counters["ratio_to_empty"] = median(ratios);
  state.counters["ns"] = median(filter_ns);
  state.counters["empty_ns"] = median(empty_ns);
  // dns_tc_ingress vs tc_empty (SCHED_CLS), same packet, same loop.
  state.counters["tc_ratio_to_tc_empty"] = median(tc_ratios);
  state.counters["tc_ns"] = median(tc_ns);
  state.counters["tc_empty_ns"] = median(tc_empty_ns);
  // dns_floor: one LD_ABS word + compare, the least any socket filter that
  // looks at ports can cost (see bpf/dns.bpf.c).
  state.counters["floor_to_empty"] = median(floors);
  bpf_prog_info after{};
  len = sizeof(after);
  bpf_obj_get_info_by_fd(f.empty_fd(), &after, &len);
  state.counters["bpf_stats_on"] = after.run_cnt > before.run_cnt ? 1 : 0;
}

// Single runs are too coarse for per-pair ratios: ratio of the medians.
// Each iteration, for the socket filter and for tc alternately (each with an
// ID of its own, so neither answers the other's query): a query and its
// response, one of them timed (`timed_response`: the response, which finds
// its entry waiting; else the query, an LRU insert) together with the empty
// program on the same packet. The other one runs untimed.
void run_single_ratios(benchmark::State& state, bool timed_response, bool filtered = false) {
  Fixture& f = fixture(filtered);
  const Hook hooks[2] = {socket_hook(f), tc_hook(f)};
  uint16_t id = 0;
  std::vector<double> empties[2], progs[2];
  for (auto _ : state) {
    for (int h = 0; h < 2; ++h) {
      ++id;
      const auto q = query(id);
      const auto r = response(id);
      if (id % kSweepEvery == 0) f.collector->sweep_now();  // untimed
      if (timed_response) test_run(hooks[h].query_prog, q, 1);
      const auto& packet = timed_response ? r : q;
      const double empty = test_run(hooks[h].empty, packet, 1);
      const double ns = test_run(timed_response ? hooks[h].prog : hooks[h].query_prog, packet, 1);
      if (!timed_response) test_run(hooks[h].prog, r, 1);
      if (h == 0) state.SetIterationTime(ns * 1e-9);
      empties[h].push_back(empty);
      progs[h].push_back(ns);
    }
  }
  state.counters["ratio_to_empty"] = median(progs[0]) / std::max(1.0, median(empties[0]));
  state.counters["tc_ratio_to_tc_empty"] = median(progs[1]) / std::max(1.0, median(empties[1]));
  state.counters["ns"] = median(progs[0]);
  state.counters["tc_ns"] = median(progs[1]);
  state.counters["empty_ns"] = median(empties[0]);
  state.counters["tc_empty_ns"] = median(empties[1]);
}

void BM_Ratio_CorrelatedResponse(benchmark::State& state) { run_single_ratios(state, true); }
// A query: header + name walk + LRU insert + stats.
void BM_Ratio_Query(benchmark::State& state) { run_single_ratios(state, false); }
// The same with the network CIDR and port filters configured (two LPM
// lookups and two port-array lookups per message).
void BM_Ratio_CorrelatedResponse_Filtered(benchmark::State& state) {
  run_single_ratios(state, true, true);
}
void BM_Ratio_Query_Filtered(benchmark::State& state) { run_single_ratios(state, false, true); }

BENCHMARK(BM_Ratio_NonDns)->UseManualTime()->Iterations(200);
BENCHMARK(BM_Ratio_CorrelatedResponse)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_Ratio_Query)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_Ratio_CorrelatedResponse_Filtered)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_Ratio_Query_Filtered)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_Empty_NonDns)->UseManualTime()->Iterations(50);
BENCHMARK(BM_Filter_NonDnsUdp)->UseManualTime()->Iterations(50);
BENCHMARK(BM_Filter_NonDnsTcp)->UseManualTime()->Iterations(50);
BENCHMARK(BM_Filter_UnmatchedResponse)->UseManualTime()->Iterations(50);
BENCHMARK(BM_Empty_Single)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_Filter_CorrelatedResponse)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_Filter_Query)->UseManualTime()->Iterations(20000);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
