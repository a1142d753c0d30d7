// The dns programs under BPF_PROG_TEST_RUN: a table of crafted packets
// (queries and responses of many types over UDP/TCP, IPv4/IPv6, extension
// headers, truncation at every byte, bad names, compression loops, non-DNS
// traffic on port 53 and elsewhere) and the exact change each makes to the
// collector's maps, run through the socket filter (dns_filter) and the tc
// program (dns_tc_ingress; the test-run skb is a received frame) alike.
// Needs root (loads BPF); no network traffic.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/dns/dns_config.h"
#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_metrics.h"
#include "collectors/dns/dns_protocol.h"
#include "config/config.h"
#include "exporter/builtin_config.h"
#include "exporter/bpf/preflight.h"
#include "tests/support/dns_message_builder.h"
#include "tests/support/dns_snapshot.h"
#include "tests/support/packet_builder.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::DnsMessageBuilder;
using testing::PacketBuilder;
using Effects = std::map<std::string, int64_t>;

constexpr char kClient4[] = "192.0.2.10";
constexpr char kServer4[] = "192.0.2.53";
constexpr char kClient6[] = "2001:db8::10";
constexpr char kServer6[] = "2001:db8::53";
// The test-run skb lives on the netns loopback device, whose address is all
// zeros: this destination makes it PACKET_HOST (anything else is OTHERHOST).
constexpr char kSrcMac[] = "00:00:00:00:00:01";
constexpr char kDstMac[] = "00:00:00:00:00:00";

// Every map-visible count, flattened to "kind key..." -> value.
Effects flatten(const DnsSnapshot& s) {
  Effects out;
  for (const DnsStatsEntry& e : s.stats) {
    const std::string t = dns_transport_name(e.transport);
    if (e.kind == DNS_STAT_QUERY) {
      out["q " + t + " " + dns::qtype_name(e.qtype)] += static_cast<int64_t>(e.count);
    } else {
      out["r " + t + " " + dns::qtype_name(e.qtype) + " " + dns::rcode_name(e.rcode)] +=
          static_cast<int64_t>(e.count);
    }
  }
  for (uint8_t t = 0; t < DNS_TRANSPORTS; ++t) {
    const std::string tn = dns_transport_name(t);
    for (uint32_t r = 0; r < DNS_MALFORMED_REASONS; ++r) {
      out["malformed " + tn + " " + dns_malformed_reason_name(r)] =
          static_cast<int64_t>(s.counters[DNS_C_MALFORMED + r * DNS_TRANSPORTS + t]);
    }
    out["truncated " + tn] = static_cast<int64_t>(s.counters[DNS_C_TRUNCATED + t]);
    out["unmatched " + tn] = static_cast<int64_t>(s.counters[DNS_C_UNMATCHED_RESPONSES + t]);
    out["retransmitted " + tn] = static_cast<int64_t>(s.counters[DNS_C_RETRANSMITTED_QUERIES + t]);
  }
  out["inserts"] = static_cast<int64_t>(s.counters[DNS_C_CORR_INSERTS]);
  out["matched"] = static_cast<int64_t>(s.counters[DNS_C_CORR_MATCHED]);
  out["insert_errors"] = static_cast<int64_t>(s.counters[DNS_C_CORR_INSERT_ERRORS]);
  out["loopback_dup"] = static_cast<int64_t>(s.counters[DNS_C_LOOPBACK_DUPLICATES]);
  out["otherhost"] = static_cast<int64_t>(s.counters[DNS_C_OTHERHOST]);
  out["ext_too_deep"] = static_cast<int64_t>(s.counters[DNS_C_IPV6_EXT_TOO_DEEP]);
  return out;
}

Effects delta(const Effects& before, const Effects& after) {
  Effects d;
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    const int64_t diff = v - (it == before.end() ? 0 : it->second);
    if (diff != 0) d[k] = diff;
  }
  return d;
}

std::string describe(const Effects& e) {
  std::string out = "{";
  for (const auto& [k, v] : e) out += "\"" + k + "\": " + std::to_string(v) + ", ";
  return out + "}";
}

// Which program the table runs through.
enum class Hook { kSocketFilter, kTcIngress };

std::string hook_name(const ::testing::TestParamInfo<Hook>& info) {
  return info.param == Hook::kSocketFilter ? "socket_filter" : "tc";
}

class DnsFilterTestRun : public ::testing::TestWithParam<Hook> {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    collector_ = start({53}, /*dedupe=*/false);
    ASSERT_TRUE(collector_);
  }
  void TearDown() override {
    if (collector_) collector_->stop();
  }

  std::unique_ptr<DnsCollector> start(std::vector<uint16_t> ports, bool dedupe) {
    ConfigLoadResult loaded = load_config_string("{}\n", "test");
    EXPECT_TRUE(loaded.ok());
    config_ = loaded.config;
    config_.collector<DnsConfig>().ports = std::move(ports);
    preflight_ = run_preflight({.allow_mount = false});
    DnsCollector::Options options;
    options.attach_socket = false;
    options.manual_sweep = true;
    options.loopback_dedupe = dedupe;
    auto collector = std::make_unique<DnsCollector>(options);
    Status started = collector->start({config_, preflight_});
    EXPECT_TRUE(started.is_ok()) << started.message();
    if (!started) return nullptr;
    return collector;
  }

  bool tc() const { return GetParam() == Hook::kTcIngress; }

  // Runs packets through the program under test (`egress`: dns_tc_egress
  // instead of the parameter's); returns the change in every count.
  Effects run(const std::vector<std::vector<uint8_t>>& packets, DnsCollector* c = nullptr,
              bool egress = false) {
    if (c == nullptr) c = collector_.get();
    const bool tc_prog = tc() || egress;
    const int prog = tc_prog ? c->tc_prog_fd(egress) : c->filter_prog_fd();
    const Effects before = flatten(testing::snapshot_of(*c));
    for (const auto& packet : packets) {
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                  .data_size_in = static_cast<__u32>(packet.size()), .repeat = 1);
      const int err = bpf_prog_test_run_opts(prog, &opts);
      EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN failed: " << errno;
      // The socket filter never queues to the socket; tc always passes the
      // packet on (TC_ACT_UNSPEC = TCX_NEXT = -1).
      EXPECT_EQ(opts.retval, tc_prog ? static_cast<__u32>(-1) : 0u);
    }
    return delta(before, flatten(testing::snapshot_of(*c)));
  }

  Config config_;
  PreflightReport preflight_;
  std::unique_ptr<DnsCollector> collector_;
};

std::vector<uint8_t> udp4(const std::vector<uint8_t>& dns, bool response,
                          uint16_t client_port = 40000, uint16_t server_port = 53) {
  PacketBuilder b;
  b.eth(kSrcMac, kDstMac);
  if (response) {
    b.ipv4(kServer4, kClient4).udp(server_port, client_port);
  } else {
    b.ipv4(kClient4, kServer4).udp(client_port, server_port);
  }
  return b.payload(dns).build();
}

std::vector<uint8_t> tcp4(const std::vector<uint8_t>& data, bool response,
                          uint16_t client_port = 40001) {
  PacketBuilder b;
  b.eth(kSrcMac, kDstMac);
  if (response) {
    b.ipv4(kServer4, kClient4).tcp(53, client_port, testing::kTcpAck | testing::kTcpPsh);
  } else {
    b.ipv4(kClient4, kServer4).tcp(client_port, 53, testing::kTcpAck | testing::kTcpPsh);
  }
  if (!data.empty()) b.payload(data);
  return b.build();
}

std::vector<uint8_t> udp6(const std::vector<uint8_t>& dns, bool response,
                          const std::vector<uint8_t>& ext_types = {}) {
  PacketBuilder b;
  b.eth(kSrcMac, kDstMac);
  if (response) {
    b.ipv6(kServer6, kClient6);
  } else {
    b.ipv6(kClient6, kServer6);
  }
  for (uint8_t t : ext_types) b.ipv6_ext(t, 16);
  if (response) {
    b.udp(53, 40002);
  } else {
    b.udp(40002, 53);
  }
  return b.payload(dns).build();
}

std::vector<uint8_t> query(uint16_t id, const std::string& name, uint16_t qtype) {
  return DnsMessageBuilder().id(id).question(name, qtype).build();
}

std::vector<uint8_t> answer(uint16_t id, const std::string& name, uint16_t qtype, uint8_t rcode) {
  return DnsMessageBuilder().id(id).response().rcode(rcode).question(name, qtype).build();
}

TEST_P(DnsFilterTestRun, QueryThenResponseOverUdp4) {
  EXPECT_EQ(run({udp4(query(1, "a.test", testing::kDnsA), false)}),
            (Effects{{"q udp A", 1}, {"inserts", 1}}));
  EXPECT_EQ(run({udp4(answer(1, "a.test", testing::kDnsA, 0), true)}),
            (Effects{{"r udp A NOERROR", 1}, {"matched", 1}}));
  // The same response again has no query left to match.
  EXPECT_EQ(run({udp4(answer(1, "a.test", testing::kDnsA, 0), true)}),
            (Effects{{"unmatched udp", 1}}));
}

TEST_P(DnsFilterTestRun, ManyTypesAndResponseCodes) {
  struct Case {
    uint16_t qtype;
    uint8_t rcode;
    std::string key;
  };
  const Case cases[] = {
      {testing::kDnsAaaa, 0, "r udp AAAA NOERROR"},
      {testing::kDnsCname, 3, "r udp CNAME NXDOMAIN"},
      {testing::kDnsTxt, 2, "r udp TXT SERVFAIL"},
      {testing::kDnsSrv, 5, "r udp SRV REFUSED"},
      {testing::kDnsPtr, 0, "r udp PTR NOERROR"},
      {testing::kDnsMx, 4, "r udp MX NOTIMP"},
      {testing::kDnsHttps, 0, "r udp HTTPS NOERROR"},
      {65534, 11, "r udp TYPE65534 RCODE11"},
      {testing::kDnsNs, 12, "r udp NS RCODE12"},
  };
  uint16_t id = 100;
  for (const Case& c : cases) {
    ++id;
    const Effects q = run({udp4(query(id, "x.test", c.qtype), false)});
    EXPECT_EQ(q, (Effects{{"q udp " + dns::qtype_name(c.qtype), 1}, {"inserts", 1}})) << c.key;
    const Effects r = run({udp4(answer(id, "x.test", c.qtype, c.rcode), true)});
    EXPECT_EQ(r, (Effects{{c.key, 1}, {"matched", 1}})) << describe(r);
  }
}

TEST_P(DnsFilterTestRun, RetransmissionCountsOnce) {
  const auto q = udp4(query(7, "r.test", testing::kDnsA), false);
  EXPECT_EQ(run({q, q, q}), (Effects{{"q udp A", 1}, {"inserts", 1}, {"retransmitted udp", 2}}));
  // A different client port or ID is a different query.
  EXPECT_EQ(run({udp4(query(7, "r.test", testing::kDnsA), false, 40009),
                 udp4(query(8, "r.test", testing::kDnsA), false)}),
            (Effects{{"q udp A", 2}, {"inserts", 2}}));
}

// A response marks its entry answered in place (no delete on the response
// path); the next sweep removes answered entries without counting them.
TEST_P(DnsFilterTestRun, AnsweredEntriesStayUntilSweptAndCountOnce) {
  const auto q = udp4(query(21, "in.test", testing::kDnsA), false);
  const auto r = udp4(answer(21, "in.test", testing::kDnsA, 0), true);
  EXPECT_EQ(run({q, r}),
            (Effects{{"q udp A", 1}, {"r udp A NOERROR", 1}, {"inserts", 1}, {"matched", 1}}));
  // A duplicate of the response finds the entry answered: unmatched.
  EXPECT_EQ(run({r}), (Effects{{"unmatched udp", 1}}));
  // The client reuses port and ID before the sweep: a new query, not a
  // retransmission, answered again.
  EXPECT_EQ(run({q, r}),
            (Effects{{"q udp A", 1}, {"r udp A NOERROR", 1}, {"inserts", 1}, {"matched", 1}}));
  // The sweep (even far past the timeout) removes the answered entry and
  // counts nothing unanswered or evicted.
  collector_->sweep_now(1ULL << 62);
  DnsSnapshot s = testing::snapshot_of(*collector_);
  EXPECT_EQ((s.unanswered[{DNS_TRANSPORT_UDP, testing::kDnsA}]), 0u);
  EXPECT_EQ(s.outstanding, 0u);
  EXPECT_EQ(s.evictions, 0u);
  dns_flow_key next{};
  EXPECT_NE(bpf_map_get_next_key(collector_->pending_map_fd(), nullptr, &next), 0)
      << "correlation map not empty";
  // After the sweep the same query is new again.
  EXPECT_EQ(run({q}), (Effects{{"q udp A", 1}, {"inserts", 1}}));
}

TEST_P(DnsFilterTestRun, TruncatedResponseBit) {
  run({udp4(query(9, "big.test", testing::kDnsTxt), false)});
  auto tc = DnsMessageBuilder().id(9).response().truncated().question("big.test", testing::kDnsTxt);
  EXPECT_EQ(run({udp4(tc.build(), true)}),
            (Effects{{"r udp TXT NOERROR", 1}, {"matched", 1}, {"truncated udp", 1}}));
}

TEST_P(DnsFilterTestRun, TcpWithLengthPrefix) {
  const auto q = DnsMessageBuilder().id(11).question("t.test", testing::kDnsAaaa).build_tcp();
  const auto r = DnsMessageBuilder()
                     .id(11)
                     .response()
                     .question("t.test", testing::kDnsAaaa)
                     .answer_aaaa("t.test", "fd00::1")
                     .build_tcp();
  EXPECT_EQ(run({tcp4({}, false), tcp4(q, false)}), (Effects{{"q tcp AAAA", 1}, {"inserts", 1}}));
  EXPECT_EQ(run({tcp4({}, true), tcp4(r, true)}),
            (Effects{{"r tcp AAAA NOERROR", 1}, {"matched", 1}}));
  // Length prefix smaller than a header; a segment too short for one.
  EXPECT_EQ(run({tcp4({0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, false)}),
            (Effects{{"malformed tcp tcp_length", 1}}));
  EXPECT_EQ(run({tcp4({0, 12, 1, 2, 3}, false)}), (Effects{{"malformed tcp short_header", 1}}));
}

TEST_P(DnsFilterTestRun, Ipv6AndExtensionHeaders) {
  EXPECT_EQ(run({udp6(query(21, "six.test", testing::kDnsAaaa), false)}),
            (Effects{{"q udp AAAA", 1}, {"inserts", 1}}));
  EXPECT_EQ(run({udp6(answer(21, "six.test", testing::kDnsAaaa, 0), true)}),
            (Effects{{"r udp AAAA NOERROR", 1}, {"matched", 1}}));
  const std::vector<uint8_t> three = {testing::kIpv6HopByHop, testing::kIpv6DestOptions,
                                      testing::kIpv6Routing};
  EXPECT_EQ(run({udp6(query(22, "ext.test", testing::kDnsA), false, three)}),
            (Effects{{"q udp A", 1}, {"inserts", 1}}));
  EXPECT_EQ(run({udp6(answer(22, "ext.test", testing::kDnsA, 3), true, three)}),
            (Effects{{"r udp A NXDOMAIN", 1}, {"matched", 1}}));
  // More extension headers than the filter walks: counted, skipped.
  const std::vector<uint8_t> seven(7, testing::kIpv6DestOptions);
  EXPECT_EQ(run({udp6(query(23, "deep.test", testing::kDnsA), false, seven)}),
            (Effects{{"ext_too_deep", 1}}));
  // First fragment (has the UDP header) counts; a later fragment has no ports.
  auto first = PacketBuilder()
                   .eth(kSrcMac, kDstMac)
                   .ipv6(kClient6, kServer6)
                   .ipv6_fragment(0, true)
                   .udp(40003, 53)
                   .payload(query(24, "frag.test", testing::kDnsA))
                   .build();
  EXPECT_EQ(run({first}), (Effects{{"q udp A", 1}, {"inserts", 1}}));
  auto later = PacketBuilder()
                   .eth(kSrcMac, kDstMac)
                   .ipv6(kClient6, kServer6)
                   .ipv6_fragment(64, false)
                   .udp(40003, 53)
                   .payload(query(25, "frag.test", testing::kDnsA))
                   .build();
  EXPECT_EQ(run({later}), Effects{});
}

TEST_P(DnsFilterTestRun, Ipv4OptionsAndFragments) {
  auto with_options = PacketBuilder()
                          .eth(kSrcMac, kDstMac)
                          .ipv4(kClient4, kServer4, {.options = {1, 1, 1, 1}})
                          .udp(40004, 53)
                          .payload(query(31, "opt.test", testing::kDnsA))
                          .build();
  EXPECT_EQ(run({with_options}), (Effects{{"q udp A", 1}, {"inserts", 1}}));
  auto later = PacketBuilder()
                   .eth(kSrcMac, kDstMac)
                   .ipv4(kClient4, kServer4, {.fragment_offset = 64})
                   .udp(40005, 53)
                   .payload(query(32, "frag.test", testing::kDnsA))
                   .build();
  EXPECT_EQ(run({later}), Effects{});
}

TEST_P(DnsFilterTestRun, TruncatedAtEveryByte) {
  const auto full = udp4(query(41, "cut.example.test", testing::kDnsA), false);
  constexpr size_t kEth = 14, kIp = 20, kUdp = 8;
  const size_t question_end = full.size();
  // BPF_PROG_TEST_RUN refuses (EINVAL) IPv4 packets shorter than an IPv4
  // header, for the socket filter and tc alike (the skb test run checks the
  // IP header of every frame), so the cuts start there and the shorter ones
  // are skipped for both; LD_ABS past the end is covered by the cuts inside
  // the UDP header. For tc the cuts before the end of the DNS header also
  // take the helper path (headers not all in the packet).
  for (size_t cut = kEth + kIp; cut < question_end; ++cut) {
    std::vector<uint8_t> packet(full.begin(), full.begin() + static_cast<long>(cut));
    const size_t ip_bytes = cut - kEth;
    Effects expected;
    if (ip_bytes < kIp + kUdp) {
      // IP or UDP header incomplete: not a DNS packet at all.
    } else if (ip_bytes < kIp + kUdp + dns::kHeaderSize) {
      expected = {{"malformed udp short_header", 1}};
    } else {
      expected = {{"malformed udp truncated", 1}};
    }
    EXPECT_EQ(run({packet}), expected) << "cut at " << cut;
  }
  EXPECT_EQ(run({full}), (Effects{{"q udp A", 1}, {"inserts", 1}}));
}

// Frames that end inside IPv6 extension headers or IPv4 options, where the
// ports are read with LD_ABS: no effect, and (run() checks it) tc still
// returns TC_ACT_UNSPEC: a LD_ABS past the end would end the program with
// 0, which in tc ends the chain.
TEST_P(DnsFilterTestRun, CutInsideExtensionHeadersAndOptions) {
  constexpr size_t kEth = 14, kIp6 = 40, kIp4 = 20;
  const std::vector<uint8_t> three = {testing::kIpv6HopByHop, testing::kIpv6DestOptions,
                                      testing::kIpv6Routing};
  const auto six = udp6(query(121, "cut.test", testing::kDnsA), false, three);
  for (size_t cut = kEth + kIp6; cut < kEth + kIp6 + 3 * 8 + 8; ++cut) {
    EXPECT_EQ(run({std::vector<uint8_t>(six.begin(), six.begin() + static_cast<long>(cut))}),
              Effects{})
        << "IPv6 cut at " << cut;
  }
  const auto four = PacketBuilder()
                        .eth(kSrcMac, kDstMac)
                        .ipv4(kClient4, kServer4, {.options = {1, 1, 1, 1}})
                        .udp(40006, 53)
                        .payload(query(122, "opt.test", testing::kDnsA))
                        .build();
  for (size_t cut = kEth + kIp4; cut < kEth + kIp4 + 4 + 8; ++cut) {
    EXPECT_EQ(run({std::vector<uint8_t>(four.begin(), four.begin() + static_cast<long>(cut))}),
              Effects{})
        << "IPv4 cut at " << cut;
  }
}

TEST_P(DnsFilterTestRun, BadNames) {
  auto header = [](uint16_t id) {
    return std::vector<uint8_t>{
        static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  };
  auto with = [&](uint16_t id, std::vector<uint8_t> name) {
    std::vector<uint8_t> m = header(id);
    m.insert(m.end(), name.begin(), name.end());
    m.insert(m.end(), {0, 1, 0, 1});  // A, IN
    return m;
  };
  // Label length 64 (type 0x40) and 0x80: oversized/unsupported labels.
  std::vector<uint8_t> oversized = {64};
  oversized.insert(oversized.end(), 64, 'x');
  oversized.push_back(0);
  EXPECT_EQ(run({udp4(with(51, oversized), false)}), (Effects{{"malformed udp bad_name", 1}}));
  EXPECT_EQ(run({udp4(with(52, {0x80, 'x', 0}), false)}), (Effects{{"malformed udp bad_name", 1}}));
  // 5 labels of 63 bytes: longer than 255.
  std::vector<uint8_t> too_long;
  for (int i = 0; i < 5; ++i) {
    too_long.push_back(63);
    too_long.insert(too_long.end(), 63, 'y');
  }
  too_long.push_back(0);
  EXPECT_EQ(run({udp4(with(53, too_long), false)}), (Effects{{"malformed udp bad_name", 1}}));
  // A compression loop (pointer to itself) in the question: the kernel does
  // not follow pointers, so the name simply ends there and the query counts;
  // user space rejects the name when it decodes it.
  EXPECT_EQ(run({udp4(with(54, {0xC0, 12}), false)}), (Effects{{"q udp A", 1}, {"inserts", 1}}));
  // No question at all.
  auto empty = DnsMessageBuilder().id(55).build();
  EXPECT_EQ(run({udp4(empty, false)}), (Effects{{"malformed udp no_question", 1}}));
}

TEST_P(DnsFilterTestRun, NonDnsTraffic) {
  // Other ports, other protocols: no effect at all.
  EXPECT_EQ(run({PacketBuilder()
                     .eth(kSrcMac, kDstMac)
                     .ipv4(kClient4, kServer4)
                     .udp(40000, 5000)
                     .payload(query(61, "a.test", testing::kDnsA))
                     .build(),
                 PacketBuilder()
                     .eth(kSrcMac, kDstMac)
                     .ipv4(kClient4, kServer4)
                     .tcp(40000, 80)
                     .payload(100)
                     .build(),
                 PacketBuilder().eth(kSrcMac, kDstMac).ipv4(kClient4, kServer4).icmp().build(),
                 PacketBuilder().eth(kSrcMac, kDstMac).ipv6(kClient6, kServer6).icmpv6().build(),
                 PacketBuilder().eth(kSrcMac, kDstMac).arp().build()}),
            Effects{});
  // Not DNS but on port 53: read as what its bytes say. Zeros are a query
  // without a question; 0xAB bytes a truncated (TC) response nobody asked for.
  EXPECT_EQ(run({udp4(std::vector<uint8_t>(40, 0), false)}),
            (Effects{{"malformed udp no_question", 1}}));
  EXPECT_EQ(run({udp4(std::vector<uint8_t>(40, 0xAB), false)}),
            (Effects{{"truncated udp", 1}, {"unmatched udp", 1}}));
  EXPECT_EQ(run({udp4({1, 2, 3}, false)}), (Effects{{"malformed udp short_header", 1}}));
  EXPECT_EQ(run({tcp4(std::vector<uint8_t>(40, 0xAB), false)}),
            (Effects{{"truncated tcp", 1}, {"unmatched tcp", 1}}));
}

TEST_P(DnsFilterTestRun, OtherHostCopiesAreSkipped) {
  auto packet = PacketBuilder()
                    .eth(kSrcMac, "02:00:00:00:00:99")
                    .ipv4(kClient4, kServer4)
                    .udp(40000, 53)
                    .payload(query(71, "a.test", testing::kDnsA))
                    .build();
  EXPECT_EQ(run({packet}), (Effects{{"otherhost", 1}}));
}

TEST_P(DnsFilterTestRun, LoopbackCountsOnlyTheOutgoingCopy) {
  // The test-run skb is a PACKET_HOST packet on ifindex 1 (loopback): with
  // the dedupe on (the default), it is the receive-side copy and skipped.
  auto deduping = start({53}, /*dedupe=*/true);
  ASSERT_TRUE(deduping);
  EXPECT_EQ(run({udp4(query(81, "a.test", testing::kDnsA), false)}, deduping.get()),
            (Effects{{"loopback_dup", 1}}));
  if (tc()) {
    // tc egress on loopback is the transmit copy: counted, once.
    EXPECT_EQ(run({udp4(query(82, "a.test", testing::kDnsA), false)}, deduping.get(), true),
              (Effects{{"q udp A", 1}, {"inserts", 1}}));
    EXPECT_EQ(run({udp4(answer(82, "a.test", testing::kDnsA, 0), true)}, deduping.get(), true),
              (Effects{{"r udp A NOERROR", 1}, {"matched", 1}}));
  }
  deduping->stop();
}

// tc egress sees frames this host sends: pkt_type is not looked at there (an
// egress frame is never another host's), and without the loopback dedupe it
// parses exactly as ingress does.
TEST_P(DnsFilterTestRun, TcEgressParsesLikeIngress) {
  if (!tc()) return;  // the socket filter has no egress program
  EXPECT_EQ(run({udp6(query(83, "e.test", testing::kDnsAaaa), false)}, nullptr, true),
            (Effects{{"q udp AAAA", 1}, {"inserts", 1}}));
  EXPECT_EQ(run({udp6(answer(83, "e.test", testing::kDnsAaaa, 0), true)}),
            (Effects{{"r udp AAAA NOERROR", 1}, {"matched", 1}}));
}

TEST_P(DnsFilterTestRun, ConfiguredPorts) {
  auto other = start({5353, 8053}, /*dedupe=*/false);
  ASSERT_TRUE(other);
  EXPECT_EQ(run({udp4(query(91, "a.test", testing::kDnsA), false, 40000, 53)}, other.get()),
            Effects{});
  EXPECT_EQ(run({udp4(query(92, "a.test", testing::kDnsA), false, 40000, 8053)}, other.get()),
            (Effects{{"q udp A", 1}, {"inserts", 1}}));
  other->stop();
}

TEST_P(DnsFilterTestRun, TimeoutSweepCountsUnansweredOnce) {
  run({udp4(query(101, "slow.test", testing::kDnsMx), false),
       udp4(query(102, "slow.test", testing::kDnsMx), false)});
  collector_->sweep_now();  // not yet timed out
  DnsSnapshot s = testing::snapshot_of(*collector_);
  EXPECT_EQ(s.outstanding, 2u);
  EXPECT_EQ((s.unanswered[{DNS_TRANSPORT_UDP, testing::kDnsMx}]), 0u);
  // Far in the future: both expire, exactly once.
  const uint64_t later = 1ULL << 62;
  collector_->sweep_now(later);
  collector_->sweep_now(later);
  s = testing::snapshot_of(*collector_);
  EXPECT_EQ((s.unanswered[{DNS_TRANSPORT_UDP, testing::kDnsMx}]), 2u);
  EXPECT_EQ(s.outstanding, 0u);
  EXPECT_EQ(s.evictions, 0u);
  // A response arriving after the timeout is unmatched, not a response.
  EXPECT_EQ(run({udp4(answer(101, "slow.test", testing::kDnsMx, 0), true)}),
            (Effects{{"unmatched udp", 1}}));
}

INSTANTIATE_TEST_SUITE_P(Hooks, DnsFilterTestRun,
                         ::testing::Values(Hook::kSocketFilter, Hook::kTcIngress), hook_name);

}  // namespace
}  // namespace netobs
