// Loading bpf/xdp.bpf.c (XDP and tc observers sharing maps) with the
// collector's settings, shared by the collector, the BPF_PROG_TEST_RUN tests
// and the benchmark so all of them run exactly what production runs. Main
// thread (or a test thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"
#include "xdp.skel.h"

namespace netobs {

enum class XdpVariant {
  kFrags,   // xdp_observe: SEC("xdp.frags"), multi-buffer frames (Linux 5.18+)
  kLinear,  // xdp_observe_linear: SEC("xdp"), the linear buffer only
};

struct XdpProgramOptions {
  uint32_t sample_rate = 1000;         // 1-in-N; 0 and 1: every candidate packet
  std::vector<uint16_t> ports;         // filters.ports, at most NETOBS_XDP_MAX_PORTS
  std::vector<std::string> protocols;  // filters.protocols: tcp, udp, icmp, icmpv6
  XdpVariant variant = XdpVariant::kFrags;
  bool xdp = true;      // load the XDP observer of `variant`
  bool tc = false;      // load tc_observe (SCHED_CLS, tc ingress)
  uint32_t slots = 32;  // entries of xdp_counters: slot 0 (unassigned) + one per interface
};

// Counter slots for `interfaces` selected at start: room to grow (hot-plug),
// a power of two in [NETOBS_XDP_MIN_SLOTS, NETOBS_XDP_MAX_SLOTS].
uint32_t xdp_slots_for(size_t interfaces);

// 2^32 / rate: sample when bpf_get_prandom_u32() is below it (2^32: always).
uint64_t xdp_sample_threshold(uint32_t sample_rate);
// Bytes of the sample ring buffer for 1-in-`sample_rate` sampling. Its pages
// are mapped into the exporter twice (the kernel's wrap-around view), so
// each MiB of ring is 2 MiB of the exporter's RSS: 2 MiB below 1 in 1000,
// 512 KiB from 1 in 1000 (the default), ~2,800 samples: what a 10 GbE line
// of minimum-size frames (14.9 Mpps) gives in ~190 ms, about one drain
// period (user space consumes every 200 ms; lost samples are counted).
uint32_t xdp_ring_bytes(uint32_t sample_rate);
// Bit (1 << class) per protocol name; unknown names are an error.
Result<uint32_t> xdp_protocol_mask(const std::vector<std::string>& protocols);

std::string_view xdp_variant_program(XdpVariant variant);  // the BPF function name

// Opens, configures (rodata filters, .bss port slots, autoload) and loads.
Result<SkeletonPtr<xdp_bpf>> load_xdp_program(const XdpProgramOptions& options);

// The loaded observer program of `variant`.
bpf_program* xdp_observer(xdp_bpf& skel, XdpVariant variant);

// tc_observe's verdict: TCX_NEXT (== TC_ACT_UNSPEC), "no opinion".
inline constexpr int kTcObserverVerdict = -1;

}  // namespace netobs
