#include "collectors/xdp/xdp_metrics.h"

#include <array>

#include "collectors/xdp/sample_decoder.h"
#include "exporter/metric_builder.h"

namespace netobs {
namespace {

using prometheus::MetricType;

static_assert(sizeof(netobs_xdp_counters) % sizeof(__u64) == 0,
              "netobs_xdp_counters must consist of __u64 only");

// The (ethertype, protocol) pairs the parser can produce: every one is
// exported, 0 included, so the series exist from the first scrape.
bool valid_pair(uint32_t eth, uint32_t l4) {
  switch (eth) {
    case NETOBS_XDP_ETH_IPV4:
      return l4 != NETOBS_XDP_L4_ICMPV6;
    case NETOBS_XDP_ETH_IPV6:
      return l4 != NETOBS_XDP_L4_ICMP;
    default:
      return l4 == NETOBS_XDP_L4_NONE;
  }
}

constexpr std::array<double, NETOBS_XDP_SIZE_SLOTS - 1> kSizeBounds = NETOBS_XDP_SIZE_BOUNDS;

}  // namespace

netobs_xdp_counters sum_xdp_counters(const std::vector<netobs_xdp_counters>& per_cpu) {
  netobs_xdp_counters total{};
  constexpr size_t kWords = sizeof(netobs_xdp_counters) / sizeof(__u64);
  auto* out = reinterpret_cast<__u64*>(&total);
  for (const netobs_xdp_counters& cpu : per_cpu) {
    const auto* in = reinterpret_cast<const __u64*>(&cpu);
    for (size_t i = 0; i < kWords; ++i) out[i] += in[i];
  }
  return total;
}

void append_xdp_metrics(const XdpSnapshot& snapshot, std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder packets("netobs_xdp_packets_total",
                        "Packets received, by ethertype (after VLAN tags) and L4 protocol "
                        "(none: not IP, or the IP header was malformed).",
                        MetricType::Counter);
  FamilyBuilder bytes("netobs_xdp_bytes_total",
                      "Bytes received (whole frames without FCS), by ethertype and L4 protocol.",
                      MetricType::Counter);
  FamilyBuilder flags("netobs_xdp_tcp_flags_total",
                      "TCP packets received with SYN (no ACK), SYN+ACK, RST or FIN set.",
                      MetricType::Counter);
  FamilyBuilder port_packets("netobs_xdp_port_packets_total",
                             "Packets from or to a port of filters.ports (counted once per "
                             "matching port).",
                             MetricType::Counter);
  FamilyBuilder port_bytes("netobs_xdp_port_bytes_total",
                           "Bytes of the packets from or to a port of filters.ports.",
                           MetricType::Counter);
  FamilyBuilder sizes("netobs_xdp_packet_size_bytes", "Sizes of the frames received.",
                      MetricType::Histogram);
  FamilyBuilder malformed("netobs_xdp_malformed_packets_total",
                          "Packets cut short or with an invalid header, by the layer where "
                          "parsing stopped.",
                          MetricType::Counter);
  FamilyBuilder fragments("netobs_xdp_ip_fragments_total",
                          "IP fragments received: the first (with the L4 header) and the "
                          "others (without).",
                          MetricType::Counter);
  FamilyBuilder candidates("netobs_xdp_sample_candidates_total",
                           "Packets that passed filters.protocols and filters.ports, of which 1 "
                           "in sample_rate is sampled.",
                           MetricType::Counter);
  FamilyBuilder samples("netobs_xdp_samples_total", "Packet samples written to the ring buffer.",
                        MetricType::Counter);
  FamilyBuilder dropped("netobs_xdp_samples_dropped_total",
                        "Packet samples lost because the ring buffer was full.",
                        MetricType::Counter);
  FamilyBuilder rate("netobs_xdp_sample_rate", "1 in this many candidate packets is sampled.",
                     MetricType::Gauge);
  FamilyBuilder talker_packets(
      "netobs_xdp_top_talker_packets_total",
      "Estimated packets of the busiest (src, dst, protocol, port), from samples scaled by "
      "sample_rate; an over-estimate for keys that entered the capped table late.",
      MetricType::Counter);
  FamilyBuilder talker_bytes("netobs_xdp_top_talker_bytes_total",
                             "Estimated bytes of the busiest (src, dst, protocol, port), from "
                             "samples scaled by sample_rate.",
                             MetricType::Counter);

  const std::vector<double> bounds(kSizeBounds.begin(), kSizeBounds.end());
  const double scale = snapshot.sample_rate;
  for (const XdpInterfaceSnapshot& iface : snapshot.interfaces) {
    const netobs_xdp_counters& c = iface.counters;
    const Labels base{{"interface", iface.name}};
    for (uint32_t eth = 0; eth < NETOBS_XDP_ETH_CLASSES; ++eth) {
      for (uint32_t l4 = 0; l4 < NETOBS_XDP_L4_CLASSES; ++l4) {
        if (!valid_pair(eth, l4)) continue;
        Labels labels = base;
        labels["ethertype"] = std::string(xdp_ethertype_name(eth));
        labels["protocol"] = std::string(xdp_protocol_name(l4));
        packets.counter(labels, static_cast<double>(c.proto[eth][l4].packets));
        bytes.counter(labels, static_cast<double>(c.proto[eth][l4].bytes));
      }
    }
    for (uint32_t f = 0; f < NETOBS_XDP_TCP_FLAGS; ++f) {
      Labels labels = base;
      labels["flag"] = std::string(xdp_tcp_flag_name(f));
      flags.counter(labels, static_cast<double>(c.tcp_flags[f]));
    }
    for (size_t slot = 0; slot < snapshot.ports.size() && slot < NETOBS_XDP_MAX_PORTS; ++slot) {
      Labels labels = base;
      labels["port"] = std::to_string(snapshot.ports[slot]);
      port_packets.counter(labels, static_cast<double>(c.ports[slot].packets));
      port_bytes.counter(labels, static_cast<double>(c.ports[slot].bytes));
    }
    sizes.histogram(base, bounds,
                    std::vector<uint64_t>(std::begin(c.size_slots), std::end(c.size_slots)),
                    static_cast<double>(c.size_bytes_sum));
    for (uint32_t layer = 1; layer < NETOBS_XDP_MALFORMED_LAYERS; ++layer) {
      Labels labels = base;
      labels["layer"] = std::string(xdp_malformed_layer_name(layer));
      malformed.counter(labels, static_cast<double>(c.malformed[layer]));
    }
    fragments.counter({{"interface", iface.name}, {"fragment", "first"}},
                      static_cast<double>(c.fragments[NETOBS_XDP_FRAG_FIRST]));
    fragments.counter({{"interface", iface.name}, {"fragment", "non_first"}},
                      static_cast<double>(c.fragments[NETOBS_XDP_FRAG_NON_FIRST]));
    candidates.counter(base, static_cast<double>(c.sample_candidates));
    samples.counter(base, static_cast<double>(c.samples));
    dropped.counter(base, static_cast<double>(c.sample_drops));
    rate.gauge(base, snapshot.sample_rate);
    for (const TopTalkers::Entry& talker : iface.talkers) {
      Labels labels = base;
      labels["src"] = talker.key.src.empty() ? "none" : talker.key.src;
      labels["dst"] = talker.key.dst.empty() ? "none" : talker.key.dst;
      labels["protocol"] = talker.key.protocol;
      labels["port"] = std::to_string(talker.key.port);
      talker_packets.counter(labels, static_cast<double>(talker.samples) * scale);
      talker_bytes.counter(labels, static_cast<double>(talker.bytes) * scale);
    }
  }
  for (FamilyBuilder* family :
       {&packets, &bytes, &flags, &port_packets, &port_bytes, &sizes, &malformed, &fragments,
        &candidates, &samples, &dropped, &rate, &talker_packets, &talker_bytes}) {
    family->append_to(out);
  }
  FamilyBuilder("netobs_xdp_sample_decode_errors_total",
                "Ring-buffer samples user space could not decode (see the log).",
                MetricType::Counter)
      .counter({}, static_cast<double>(snapshot.decode_errors))
      .append_to(out);
}

}  // namespace netobs
