#include "collectors/xdp/xdp_program.h"

#include <cerrno>

#include "bpf/xdp.h"
#include "exporter/bpf/attach_ladder.h"

namespace netobs {

uint32_t xdp_slots_for(size_t interfaces) {
  uint32_t slots = NETOBS_XDP_MIN_SLOTS;
  while (slots < NETOBS_XDP_MAX_SLOTS && slots < 2 * interfaces + 16) slots *= 2;
  return slots;
}

uint64_t xdp_sample_threshold(uint32_t sample_rate) {
  constexpr uint64_t kAll = uint64_t{1} << 32;
  return sample_rate <= 1 ? kAll : kAll / sample_rate;
}

Result<uint32_t> xdp_protocol_mask(const std::vector<std::string>& protocols) {
  uint32_t mask = 0;
  for (const std::string& name : protocols) {
    if (name == "tcp") {
      mask |= 1u << NETOBS_XDP_L4_TCP;
    } else if (name == "udp") {
      mask |= 1u << NETOBS_XDP_L4_UDP;
    } else if (name == "icmp") {
      mask |= 1u << NETOBS_XDP_L4_ICMP;
    } else if (name == "icmpv6") {
      mask |= 1u << NETOBS_XDP_L4_ICMPV6;
    } else {
      return Status::error("unknown protocol \"" + name +
                           "\" in xdp filters.protocols: use tcp, udp, icmp or icmpv6");
    }
  }
  return mask;
}

std::string_view xdp_variant_program(XdpVariant variant) {
  return variant == XdpVariant::kFrags ? "xdp_observe" : "xdp_observe_linear";
}

bpf_program* xdp_observer(xdp_bpf& skel, XdpVariant variant) {
  return variant == XdpVariant::kFrags ? skel.progs.xdp_observe : skel.progs.xdp_observe_linear;
}

uint32_t xdp_ring_bytes(uint32_t sample_rate) {
  return sample_rate >= 1000 ? 512 * 1024 : 2 * 1024 * 1024;
}

Result<SkeletonPtr<xdp_bpf>> load_xdp_program(const XdpProgramOptions& options) {
  if (options.ports.size() > NETOBS_XDP_MAX_PORTS) {
    return Status::error("xdp filters.ports has " + std::to_string(options.ports.size()) +
                         " ports; at most " + std::to_string(NETOBS_XDP_MAX_PORTS) +
                         " get counters");
  }
  Result<uint32_t> mask = xdp_protocol_mask(options.protocols);
  if (!mask) return mask.status();
  SkeletonPtr<xdp_bpf> skel = open_skeleton<xdp_bpf>();
  if (!skel) return Status::error("opening the xdp BPF skeleton failed: " + errno_message(errno));
  skel->rodata->sample_threshold = xdp_sample_threshold(options.sample_rate);
  skel->rodata->sample_l4_mask = *mask;
  skel->rodata->sample_ports_only = options.ports.empty() ? 0 : 1;
  for (size_t slot = 0; slot < options.ports.size(); ++slot) {
    skel->bss->port_slot[options.ports[slot]] = static_cast<__u8>(slot + 1);
  }
  if (options.slots < 2 || options.slots > NETOBS_XDP_MAX_SLOTS) {
    return Status::error("xdp counter slots " + std::to_string(options.slots) + " out of [2, " +
                         std::to_string(NETOBS_XDP_MAX_SLOTS) + "]");
  }
  if (bpf_map__set_max_entries(skel->maps.xdp_counters, options.slots) != 0) {
    return Status::error("sizing map xdp_counters failed: " + errno_message(errno));
  }
  if (bpf_map__set_max_entries(skel->maps.xdp_samples, xdp_ring_bytes(options.sample_rate)) != 0) {
    return Status::error("sizing ring buffer xdp_samples failed: " + errno_message(errno));
  }
  if (!options.xdp && !options.tc) return Status::error("no xdp collector program to load");
  const bool frags = options.xdp && options.variant == XdpVariant::kFrags;
  const bool linear = options.xdp && options.variant == XdpVariant::kLinear;
  bpf_program__set_autoload(skel->progs.xdp_observe, frags);
  bpf_program__set_autoload(skel->progs.xdp_observe_linear, linear);
  bpf_program__set_autoload(skel->progs.tc_observe, options.tc);
  if (xdp_bpf::load(skel.get()) != 0) {
    std::string programs;
    if (options.xdp) programs = std::string(xdp_variant_program(options.variant));
    if (options.tc) programs += programs.empty() ? "tc_observe" : " and tc_observe";
    return Status::error(
        "loading BPF program " + programs + " failed: " + errno_message(errno) +
        (frags ? " (multi-buffer XDP needs Linux 5.18+)"
               : " (needs Linux 5.8+ for the BPF ring buffer" +
                     std::string(options.tc ? ", 5.7+ for __sk_buff gso_size)" : ")")));
  }
  return skel;
}

}  // namespace netobs
