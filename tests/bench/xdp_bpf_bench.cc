// Per-packet cost of the xdp collector's program through BPF_PROG_TEST_RUN
// with repeat (the kernel times the runs), next to an empty XDP program in
// the same process: quote the ratio, not the nanoseconds. Needs root.
//   build/tests/bench/xdp_bpf_bench --benchmark_repetitions=5
// Counter ns_per_packet is the kernel's average per run.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "collectors/xdp/xdp_program.h"
#include "tests/support/packet_builder.h"

namespace netobs {
namespace {

constexpr int kRepeat = 200000;

struct RingDeleter {
  void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
};

// A TCP packet to port 80 with 100 bytes of payload (154-byte frame).
std::vector<uint8_t> tcp_packet() {
  return testing::PacketBuilder()
      .eth()
      .ipv4("10.0.0.1", "10.0.0.2")
      .tcp(40000, 80, testing::kTcpAck)
      .payload(100)
      .build();
}

// An IPv6 UDP packet behind two extension headers and a VLAN tag.
std::vector<uint8_t> ipv6_ext_packet() {
  return testing::PacketBuilder()
      .eth()
      .vlan(10)
      .ipv6("2001:db8::1", "2001:db8::2")
      .ipv6_ext(testing::kIpv6HopByHop, 8)
      .ipv6_ext(testing::kIpv6DestOptions, 16)
      .udp(5353, 80)
      .payload(100)
      .build();
}

void run(benchmark::State& state, const XdpProgramOptions& options, bool empty,
         const std::vector<uint8_t>& frame) {
  if (geteuid() != 0) {
    state.SkipWithError("needs root (BPF_PROG_TEST_RUN)");
    return;
  }
  XdpProgramOptions load = options;
  load.load_empty = empty;
  Result<SkeletonPtr<xdp_bpf>> skel = load_xdp_program(load);
  if (!skel) {
    state.SkipWithError(skel.message().c_str());
    return;
  }
  const int fd =
      bpf_program__fd(empty ? (*skel)->progs.xdp_empty : xdp_observer(**skel, options.variant));
  std::unique_ptr<ring_buffer, RingDeleter> ring(ring_buffer__new(
      bpf_map__fd((*skel)->maps.xdp_samples), [](void*, void*, size_t) { return 0; }, nullptr,
      nullptr));
  double total_ns = 0;
  for (auto _ : state) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .repeat = kRepeat);
    if (bpf_prog_test_run_opts(fd, &opts) != 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    state.SetIterationTime(static_cast<double>(opts.duration) * kRepeat * 1e-9);
    total_ns += opts.duration;
    ring_buffer__consume(ring.get());  // keep the ring from filling up (untimed)
  }
  state.counters["ns_per_packet"] = total_ns / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * kRepeat);
}

// Interleaved pairs (empty, observe) on the same packet: the machine's load
// drifts (other builds share the cores), so each pair gives one ratio and
// the counters report their median and spread.
void ratio(benchmark::State& state, const XdpProgramOptions& options,
           const std::vector<uint8_t>& frame) {
  if (geteuid() != 0) {
    state.SkipWithError("needs root (BPF_PROG_TEST_RUN)");
    return;
  }
  XdpProgramOptions load = options;
  load.load_empty = true;
  Result<SkeletonPtr<xdp_bpf>> skel = load_xdp_program(load);
  if (!skel) {
    state.SkipWithError(skel.message().c_str());
    return;
  }
  const int empty = bpf_program__fd((*skel)->progs.xdp_empty);
  const int observe = bpf_program__fd(xdp_observer(**skel, options.variant));
  std::unique_ptr<ring_buffer, RingDeleter> ring(ring_buffer__new(
      bpf_map__fd((*skel)->maps.xdp_samples), [](void*, void*, size_t) { return 0; }, nullptr,
      nullptr));
  auto time = [&frame](int fd) -> double {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .repeat = kRepeat);
    return bpf_prog_test_run_opts(fd, &opts) == 0 ? static_cast<double>(opts.duration) : -1;
  };
  std::vector<double> ratios, empties, observes;
  for (auto _ : state) {
    const double e = time(empty);
    const double o = time(observe);
    if (e <= 0 || o <= 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    state.SetIterationTime((e + o) * kRepeat * 1e-9);
    empties.push_back(e);
    observes.push_back(o);
    ratios.push_back(o / e);
    ring_buffer__consume(ring.get());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  state.counters["ratio_median"] = median(ratios);
  state.counters["ratio_min"] = *std::min_element(ratios.begin(), ratios.end());
  state.counters["ratio_max"] = *std::max_element(ratios.begin(), ratios.end());
  state.counters["empty_ns"] = median(empties);
  state.counters["observe_ns"] = median(observes);
}

void BM_RatioTcpPortMatchSampled1000(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}}, tcp_packet());
}
void BM_RatioTcpPortMatchSampled1000Linear(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}, .variant = XdpVariant::kLinear},
        tcp_packet());
}
void BM_RatioIpv6ExtHeaders(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80}}, ipv6_ext_packet());
}
BENCHMARK(BM_RatioTcpPortMatchSampled1000)->UseManualTime()->Iterations(31);
BENCHMARK(BM_RatioTcpPortMatchSampled1000Linear)->UseManualTime()->Iterations(31);
BENCHMARK(BM_RatioIpv6ExtHeaders)->UseManualTime()->Iterations(31);

// The baseline: an XDP program that only returns XDP_PASS.
void BM_XdpEmpty(benchmark::State& state) { run(state, {}, true, tcp_packet()); }

// The goal case: TCP with a filters.ports match, sampling on (1 in 1000).
void BM_XdpObserveTcpPortMatchSampled1000(benchmark::State& state) {
  run(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}}, false, tcp_packet());
}

// Every packet sampled: the ring-buffer path on each run.
void BM_XdpObserveTcpEveryPacketSampled(benchmark::State& state) {
  run(state, {.sample_rate = 1, .ports = {80}}, false, tcp_packet());
}

void BM_XdpObserveIpv6ExtHeaders(benchmark::State& state) {
  run(state, {.sample_rate = 1000, .ports = {80}}, false, ipv6_ext_packet());
}

void BM_XdpObserveLinearTcpPortMatchSampled1000(benchmark::State& state) {
  run(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}, .variant = XdpVariant::kLinear},
      false, tcp_packet());
}

BENCHMARK(BM_XdpEmpty)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveTcpPortMatchSampled1000)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveTcpEveryPacketSampled)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveIpv6ExtHeaders)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveLinearTcpPortMatchSampled1000)->UseManualTime()->Iterations(20);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
