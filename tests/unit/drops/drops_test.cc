// The drops collector without root: its config section, reason names read
// from BTF (fixture BTF files built here with libbpf, and the running
// kernel's), the kallsyms resolver, metric rendering and the aggregation of
// `netobs drops`. A BTF without the enum or without the tracepoint's reason
// argument disables the collector with a message that names the fix.
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cstring>
#include <sstream>
#include <string>

#include "collectors/drops/drop_reasons.h"
#include "collectors/drops/drops_collector.h"
#include "collectors/drops/drops_command.h"
#include "collectors/drops/drops_config.h"
#include "collectors/drops/drops_metrics.h"
#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

ConfigLoadResult load(const std::string& yaml) { return load_config_string(yaml, "t.yaml"); }

TEST(DropsConfig, DefaultsMatchTheStructAndTheShippedFile) {
  ConfigLoadResult result = load_default_config();
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.collector<DropsConfig>(), DropsConfig{});
  EXPECT_TRUE(result.config.collector<DropsConfig>().common.enabled);
  ConfigLoadResult shipped =
      load_config_file(std::string(NETOBS_SOURCE_DIR) + "/config/netobs.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.format_errors();
  EXPECT_EQ(shipped.config.collector<DropsConfig>(), DropsConfig{});
}

TEST(DropsConfig, FieldsLand) {
  ConfigLoadResult result =
      load("collectors:\n  drops:\n    network_namespace: /run/netns/x\n    max_entries: 512\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.collector<DropsConfig>().network_namespace, "/run/netns/x");
  EXPECT_EQ(result.config.collector<DropsConfig>().max_entries, 512u);
  EXPECT_FALSE(result.config.collector<DropsConfig>().local_port_labels);  // off by default
  ConfigLoadResult ports =
      load("collectors:\n  drops:\n    local_port_labels: true\n    max_local_ports: 5\n");
  ASSERT_TRUE(ports.ok()) << ports.format_errors();
  EXPECT_TRUE(ports.config.collector<DropsConfig>().local_port_labels);
  EXPECT_EQ(ports.config.collector<DropsConfig>().max_local_ports, 5u);
  ConfigLoadResult zero = load("collectors:\n  drops:\n    max_local_ports: 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.format_errors().find("collectors.drops.max_local_ports"), std::string::npos)
      << zero.format_errors();
}

TEST(DropsConfig, BadValuesNameTheProblemAndTheFix) {
  ConfigLoadResult relative = load("collectors:\n  drops:\n    network_namespace: netns/x\n");
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.format_errors(),
            "t.yaml:3:24: collectors.drops.network_namespace: network_namespace must be an "
            "absolute path such as \"/run/netns/NAME\" or \"/proc/PID/ns/net\" (empty: every "
            "namespace)");
  ConfigLoadResult small = load("collectors:\n  drops:\n    max_entries: 10\n");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.format_errors().find("collectors.drops.max_entries"), std::string::npos)
      << small.format_errors();
  EXPECT_NE(small.format_errors().find("256"), std::string::npos) << small.format_errors();
}

TEST(DropReasons, NamesStripThePrefixAndSkipWhatIsNotADrop) {
  DropReasons reasons =
      DropReasons::from_enumerators({{"SKB_NOT_DROPPED_YET", 0},
                                     {"SKB_CONSUMED", 1},
                                     {"SKB_DROP_REASON_NOT_SPECIFIED", 2},
                                     {"SKB_DROP_REASON_NETFILTER_DROP", 12},
                                     {"SKB_DROP_REASON_MAX", 13},
                                     {"SKB_DROP_REASON_SUBSYS_MASK", 0xffff0000}});
  EXPECT_EQ(reasons.all().size(), 2u);
  EXPECT_EQ(reasons.name(12), "NETFILTER_DROP");
  EXPECT_EQ(reasons.name(2), "NOT_SPECIFIED");
  EXPECT_EQ(reasons.name(1), "unknown_1");
  EXPECT_EQ(reasons.name(13), "unknown_13");
  EXPECT_EQ(reasons.name(200), "unknown_200");
}

// A raw BTF file written by the test: an int, optionally `enum
// skb_drop_reason` with the given values, and optionally the tracepoint's
// typedef btf_trace_kfree_skb, whose prototype takes the enum or not.
struct BtfFixture {
  bool with_enum = true;
  bool with_tracepoint = true;
  bool reason_argument = true;
  std::vector<std::pair<std::string, uint32_t>> values = {{"SKB_NOT_DROPPED_YET", 0},
                                                          {"SKB_CONSUMED", 1},
                                                          {"SKB_DROP_REASON_NO_SOCKET", 3},
                                                          {"SKB_DROP_REASON_FUTURE_THING", 200}};

  std::string write(const testing::TempDir& dir) const {
    btf* b = btf__new_empty();
    const int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    int enum_id = -1;
    if (with_enum) {
      enum_id = btf__add_enum(b, "skb_drop_reason", 4);
      for (const auto& [name, value] : values) {
        btf__add_enum_value(b, name.c_str(), static_cast<int64_t>(value));
      }
    }
    if (with_tracepoint) {
      const int skb = btf__add_fwd(b, "sk_buff", BTF_FWD_STRUCT);
      const int skb_ptr = btf__add_ptr(b, skb);
      const int void_ptr = btf__add_ptr(b, 0);
      const int proto = btf__add_func_proto(b, 0);
      btf__add_func_param(b, "", void_ptr);
      btf__add_func_param(b, "", skb_ptr);
      btf__add_func_param(b, "", void_ptr);
      btf__add_func_param(b, "", reason_argument && enum_id > 0 ? enum_id : int_id);
      btf__add_typedef(b, "btf_trace_kfree_skb", btf__add_ptr(b, proto));
    }
    uint32_t size = 0;
    const void* raw = btf__raw_data(b, &size);
    std::string path = dir.write("vmlinux", std::string(static_cast<const char*>(raw), size));
    btf__free(b);
    return path;
  }
};

TEST(DropReasons, ComeFromTheBtfNotFromAListInNetobs) {
  testing::TempDir dir;
  Result<DropReasons> reasons = DropReasons::from_btf(BtfFixture{}.write(dir));
  ASSERT_TRUE(reasons) << reasons.message();
  EXPECT_EQ(reasons->all().size(), 2u);
  EXPECT_EQ(reasons->name(3), "NO_SOCKET");
  EXPECT_EQ(reasons->name(200), "FUTURE_THING");
  EXPECT_EQ(reasons->name(12), "unknown_12");  // NETFILTER_DROP elsewhere, not in this BTF
}

TEST(DropReasons, ABtfWithoutTheEnumDisablesTheCollectorWithTheFix) {
  testing::TempDir dir;
  const std::string path = BtfFixture{.with_enum = false}.write(dir);
  Result<DropReasons> reasons = DropReasons::from_btf(path);
  ASSERT_FALSE(reasons);
  EXPECT_EQ(reasons.message(),
            "the kernel's BTF (" + path +
                ") has no enum skb_drop_reason: this kernel does not report why it drops packets "
                "(drop reasons came in Linux 5.17); upgrade the kernel or disable the collector "
                "with --no-collector.drops");

  // The collector refuses to start with that message before loading anything.
  Config config = default_config();
  PreflightReport preflight;
  preflight.btf_path = path;
  preflight.btf_present = true;
  DropsCollector collector;
  Status started = collector.start({config, preflight});
  ASSERT_FALSE(started);
  EXPECT_EQ(started.message(), reasons.message());
  EXPECT_EQ(collector.state(), CollectorState::kError);
}

TEST(DropReasons, ATracepointWithoutTheReasonArgumentIsRefused) {
  testing::TempDir dir;
  const std::string path = BtfFixture{.reason_argument = false}.write(dir);
  Result<DropReasons> reasons = DropReasons::from_btf(path);
  ASSERT_FALSE(reasons);
  EXPECT_NE(reasons.message().find("skb:kfree_skb tracepoint has no drop reason argument"),
            std::string::npos)
      << reasons.message();
  EXPECT_NE(reasons.message().find("--no-collector.drops"), std::string::npos);

  Result<DropReasons> no_tracepoint =
      DropReasons::from_btf(BtfFixture{.with_tracepoint = false}.write(dir));
  ASSERT_FALSE(no_tracepoint);
}

TEST(DropReasons, AMissingBtfFileNamesTheKernelOption) {
  Result<DropReasons> reasons = DropReasons::from_btf("/nonexistent/vmlinux");
  ASSERT_FALSE(reasons);
  EXPECT_NE(reasons.message().find("cannot read kernel BTF at /nonexistent/vmlinux"),
            std::string::npos);
  EXPECT_NE(reasons.message().find("CONFIG_DEBUG_INFO_BTF=y"), std::string::npos);
}

// The running kernel's names, against bpftool's own dump of its BTF.
TEST(DropReasons, TheRunningKernelsNamesMatchBpftool) {
  const std::string btf = "/sys/kernel/btf/vmlinux";
  if (access(btf.c_str(), R_OK) != 0) GTEST_SKIP() << "no readable " << btf;
  testing::CommandResult dump =
      testing::run_command({"bpftool", "btf", "dump", "file", btf, "format", "raw"}, 60);
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  std::map<uint32_t, std::string> expected;
  std::istringstream in(dump.output);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("[", 0) == 0) {
      inside = line.find("ENUM 'skb_drop_reason'") != std::string::npos;
      continue;
    }
    if (!inside) continue;
    // "\t'SKB_DROP_REASON_NO_SOCKET' val=3"
    const size_t open = line.find('\'');
    const size_t close = line.find('\'', open + 1);
    const size_t val = line.find("val=");
    if (open == std::string::npos || close == std::string::npos || val == std::string::npos)
      continue;
    const std::string name = line.substr(open + 1, close - open - 1);
    const uint32_t value = static_cast<uint32_t>(std::stoull(line.substr(val + 4)));
    if (name.rfind("SKB_DROP_REASON_", 0) != 0) continue;
    const std::string stripped = name.substr(16);
    if (stripped == "MAX" || stripped == "SUBSYS_MASK") continue;
    expected[value] = stripped;
  }
  ASSERT_GT(expected.size(), 50u) << "bpftool listed no enum skb_drop_reason";
  Result<DropReasons> reasons = DropReasons::from_btf(btf);
  ASSERT_TRUE(reasons) << reasons.message();
  EXPECT_EQ(reasons->all(), expected);
}

TEST(KernelSymbols, ResolvesToTheEnclosingFunction) {
  KernelSymbols symbols = KernelSymbols::from_text(
      "ffffffff81000000 T _stext\n"
      "ffffffff81100000 t tcp_v4_rcv\n"
      "ffffffff81100800 D some_data\n"
      "ffffffff81101000 T nf_hook_slow\n"
      "0000000000000000 T hidden\n");
  EXPECT_EQ(symbols.resolve(0xffffffff811001a3), "tcp_v4_rcv+0x1a3");
  EXPECT_EQ(symbols.function(0xffffffff81100900), "tcp_v4_rcv");  // data symbols skipped
  EXPECT_EQ(symbols.function(0xffffffff81101010), "nf_hook_slow");
  EXPECT_EQ(symbols.resolve(0x1234), "0x1234");
  EXPECT_EQ(symbols.function(0x1234), "");
  EXPECT_TRUE(KernelSymbols::from_text("0000000000000000 T a\n").empty());
}

DropReasons sample_reasons() {
  return DropReasons::from_enumerators({{"SKB_DROP_REASON_NO_SOCKET", 3},
                                        {"SKB_DROP_REASON_NETFILTER_DROP", 12},
                                        {"SKB_DROP_REASON_QDISC_DROP", 64}});
}

DropsEntry entry(uint32_t reason, uint32_t netns, uint32_t ifindex, const char* ifname, uint16_t l3,
                 uint8_t l4, uint64_t packets, uint64_t location = 0) {
  DropsEntry e;
  e.key.reason = reason;
  e.key.netns = netns;
  e.key.ifindex = ifindex;
  e.key.l3 = l3;
  e.key.l4 = l4;
  e.key.location = location;
  e.packets = packets;
  e.ifname = ifname;
  return e;
}

std::string render(const DropsSnapshot& snapshot) {
  std::vector<prometheus::MetricFamily> families;
  append_drops_families(snapshot, sample_reasons(), families);
  return prometheus::TextSerializer().Serialize(families);
}

double value(const std::string& text, const std::string& name, const std::string& labels) {
  return testing::metric_value(text, name, labels).value_or(-1);
}

TEST(DropsMetrics, LabelsSumOverNamespacesAndFoldTheOverflow) {
  DropsSnapshot snap;
  snap.entries = {entry(12, 100, 1, "lo", 0x0800, 17, 5), entry(12, 200, 1, "lo", 0x0800, 17, 7),
                  entry(64, 100, 4, "veth0", 0x86dd, 6, 3), entry(3, 100, 0, "", 0x0800, 6, 2),
                  entry(77, 100, 9, "", 0x0806, 0, 1)};
  snap.overflow[12] = 4;
  snap.overflow[NETOBS_DROPS_OVERFLOW_SLOTS - 1] = 1;
  const std::string text = render(snap);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  "family=\"ipv4\",interface=\"lo\",protocol=\"udp\",reason=\"NETFILTER_DROP\""),
            12);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  "family=\"ipv6\",interface=\"veth0\",protocol=\"tcp\",reason=\"QDISC_DROP\""),
            3);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  "family=\"ipv4\",interface=\"none\",protocol=\"tcp\",reason=\"NO_SOCKET\""),
            2);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  "family=\"arp\",interface=\"if9\",protocol=\"none\",reason=\"unknown_77\""),
            1);
  EXPECT_EQ(
      value(text, "netobs_drops_total",
            "family=\"other\",interface=\"other\",protocol=\"other\",reason=\"NETFILTER_DROP\""),
      4);
  EXPECT_EQ(
      value(text, "netobs_drops_total",
            "family=\"other\",interface=\"other\",protocol=\"other\",reason=\"unknown_other\""),
      1);
  for (const char* reason : {"NO_SOCKET", "NETFILTER_DROP", "QDISC_DROP"}) {
    EXPECT_EQ(value(text, "netobs_drops_reasons_info", std::string("reason=\"") + reason + "\""), 1)
        << reason;
  }
  EXPECT_NE(text.find("# TYPE netobs_drops_total counter"), std::string::npos);
  EXPECT_NE(text.find("ListenOverflows"), std::string::npos);  // the cross-reference in the help
}

TEST(DropsMetrics, TheReasonsInfoIsThereBeforeAnyDrop) {
  const std::string text = render(DropsSnapshot{});
  EXPECT_EQ(value(text, "netobs_drops_reasons_info", "reason=\"QDISC_DROP\""), 1);
  EXPECT_EQ(text.find("netobs_drops_total{"), std::string::npos);
}

TEST(DropsCommand, IntervalRowsAreDeltasWithFunctionsAndFilters) {
  const KernelSymbols symbols = KernelSymbols::from_text(
      "ffffffff81100000 t nf_hook_slow\nffffffff81200000 t udp_queue_rcv_one_skb\n");
  DropsSnapshot before;
  before.entries = {entry(12, 1, 1, "lo", 0x0800, 17, 10, 0xffffffff81100040)};
  DropsSnapshot after;
  after.entries = {entry(12, 1, 1, "lo", 0x0800, 17, 25, 0xffffffff81100040),
                   entry(12, 2, 1, "lo", 0x0800, 17, 5, 0xffffffff81100040),
                   entry(3, 1, 1, "lo", 0x0800, 17, 2, 0xffffffff81200010),
                   entry(64, 1, 3, "veth0", 0x0800, 6, 0, 0xffffffff81200010)};
  std::vector<DropsRow> rows = drops_interval_rows(before, after, sample_reasons(), symbols, {});
  ASSERT_EQ(rows.size(), 2u);  // namespaces merged, rows without packets left out
  EXPECT_EQ(rows[0].reason, "NETFILTER_DROP");
  EXPECT_EQ(rows[0].packets, 20u);
  EXPECT_EQ(rows[0].function, "nf_hook_slow");
  EXPECT_EQ(rows[0].where, "nf_hook_slow+0x40");
  EXPECT_EQ(rows[1].reason, "NO_SOCKET");
  EXPECT_EQ(rows[1].function, "udp_queue_rcv_one_skb");

  DropsFilter only_no_socket{.reasons = {"NO_SOCKET"}};
  rows = drops_interval_rows(before, after, sample_reasons(), symbols, only_no_socket);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].packets, 2u);
  DropsFilter tcp_only{.protocols = {"tcp"}};
  EXPECT_TRUE(drops_interval_rows(before, after, sample_reasons(), symbols, tcp_only).empty());

  std::ostringstream json;
  print_drops_json(drops_interval_rows(before, after, sample_reasons(), symbols, {}), 2, 0, json);
  EXPECT_EQ(json.str(),
            "{\"interval_seconds\":2,\"drops\":[{\"reason\":\"NETFILTER_DROP\",\"reason_value\":12,"
            "\"function\":\"nf_hook_slow\",\"location\":\"nf_hook_slow+0x40\",\"interface\":\"lo\","
            "\"family\":\"ipv4\",\"protocol\":\"udp\",\"packets\":20,\"pid\":null,\"comm\":null},"
            "{\"reason\":\"NO_SOCKET\","
            "\"reason_value\":3,\"function\":\"udp_queue_rcv_one_skb\",\"location\":"
            "\"udp_queue_rcv_one_skb+0x10\",\"interface\":\"lo\",\"family\":\"ipv4\",\"protocol\":"
            "\"udp\",\"packets\":2,\"pid\":null,\"comm\":null}]}\n");
}

TEST(DropsCommand, RowsNameTheProcessOfTheSocketInode) {
  const KernelSymbols symbols =
      KernelSymbols::from_text("ffffffff81200000 t udp_queue_rcv_one_skb\n");
  DropsSnapshot after;
  after.entries = {entry(3, 1, 1, "lo", 0x0800, 17, 4, 0xffffffff81200010),
                   entry(3, 1, 1, "lo", 0x0800, 17, 6, 0xffffffff81200010),
                   entry(3, 1, 1, "lo", 0x0800, 17, 1, 0xffffffff81200010)};
  after.entries[0].key.sock_ino = 1001;
  after.entries[1].key.sock_ino = 1002;  // same process, another socket: one row
  after.entries[2].key.sock_ino = 1003;  // owner unknown (closed): its own row
  const DropsOwners owners = {{1001, {42, "dig"}}, {1002, {42, "dig"}}};
  const std::vector<DropsRow> rows =
      drops_interval_rows({}, after, sample_reasons(), symbols, {}, owners);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].packets, 10u);
  EXPECT_EQ(rows[0].pid, 42);
  EXPECT_EQ(rows[0].comm, "dig");
  EXPECT_EQ(rows[1].packets, 1u);
  EXPECT_EQ(rows[1].pid, 0);
  std::ostringstream json, table;
  print_drops_json(rows, 1, 1, json);
  EXPECT_NE(json.str().find("\"packets\":10,\"pid\":42,\"comm\":\"dig\"}"), std::string::npos)
      << json.str();
  print_drops_table(rows, 1, 0, table);
  EXPECT_NE(table.str().find(" 42/dig\n"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find(" -\n"), std::string::npos) << table.str();
}

TEST(DropsMetrics, LocalPortsAreCappedFirstSeenFirstKept) {
  DropsSnapshot first;
  first.entries = {entry(3, 1, 1, "lo", 0x0800, 17, 2), entry(3, 1, 1, "lo", 0x0800, 17, 9),
                   entry(3, 1, 1, "lo", 0x0800, 1, 4)};
  first.entries[0].key.local_port = 53;
  first.entries[1].key.local_port = 9000;
  // entries[2] (ICMP) has no port: "none", never folded.
  DropsPortLabels ports(2);
  std::vector<prometheus::MetricFamily> families;
  append_drops_families(first, sample_reasons(), families, &ports);
  std::string text = prometheus::TextSerializer().Serialize(families);
  const std::string lo = "family=\"ipv4\",interface=\"lo\",";
  EXPECT_EQ(value(text, "netobs_drops_total",
                  lo + "local_port=\"9000\",protocol=\"udp\",reason=\"NO_SOCKET\""),
            9);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  lo + "local_port=\"53\",protocol=\"udp\",reason=\"NO_SOCKET\""),
            2);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  lo + "local_port=\"none\",protocol=\"icmp\",reason=\"NO_SOCKET\""),
            4);
  EXPECT_EQ(value(text, "netobs_series_dropped_total",
                  "collector=\"drops\",metric=\"netobs_drops_total\""),
            0);

  // A busier newcomer does not take a kept port's series.
  DropsSnapshot second = first;
  second.entries.push_back(entry(3, 1, 1, "lo", 0x0800, 17, 100));
  second.entries.back().key.local_port = 8080;
  families.clear();
  append_drops_families(second, sample_reasons(), families, &ports);
  text = prometheus::TextSerializer().Serialize(families);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  lo + "local_port=\"other\",protocol=\"udp\",reason=\"NO_SOCKET\""),
            100);
  EXPECT_EQ(value(text, "netobs_drops_total",
                  lo + "local_port=\"53\",protocol=\"udp\",reason=\"NO_SOCKET\""),
            2);
  EXPECT_EQ(value(text, "netobs_series_dropped_total",
                  "collector=\"drops\",metric=\"netobs_drops_total\""),
            100);
  // Without the option there is no local_port label and no folding count.
  EXPECT_EQ(render(second).find("local_port"), std::string::npos);
  EXPECT_EQ(render(second).find("netobs_series_dropped_total"), std::string::npos);
}

// attribution.label_idle_time: an idle port gives its series back to the
// next folded port with new drops; what was folded stays in "other" and in
// netobs_series_dropped_total, the newcomer's series counts from admission,
// and every series stays monotonic.
TEST(DropsMetrics, IdleLocalPortsGiveTheirSeriesBack) {
  const auto t0 = DropsPortLabels::Clock::now();
  DropsPortLabels ports(1, std::chrono::seconds(2));
  const std::string lo = "family=\"ipv4\",interface=\"lo\",";
  const std::string udp = "protocol=\"udp\",reason=\"NO_SOCKET\"";
  auto scrape = [&](uint64_t dns, uint64_t app, std::chrono::milliseconds at) {
    DropsSnapshot snap;
    if (dns) {
      snap.entries.push_back(entry(3, 1, 1, "lo", 0x0800, 17, dns));
      snap.entries.back().key.local_port = 53;
    }
    if (app) {
      snap.entries.push_back(entry(3, 1, 1, "lo", 0x0800, 17, app));
      snap.entries.back().key.local_port = 9000;
    }
    std::vector<prometheus::MetricFamily> families;
    append_drops_families(snap, sample_reasons(), families, &ports, t0 + at);
    return prometheus::TextSerializer().Serialize(families);
  };
  auto series = [&](const std::string& text, const std::string& port) {
    return value(text, "netobs_drops_total", lo + "local_port=\"" + port + "\"," + udp);
  };
  auto dropped = [&](const std::string& text) {
    return value(text, "netobs_series_dropped_total",
                 "collector=\"drops\",metric=\"netobs_drops_total\"");
  };
  std::string text = scrape(5, 0, std::chrono::milliseconds(0));
  EXPECT_EQ(series(text, "53"), 5);
  text = scrape(5, 7, std::chrono::milliseconds(1000));  // no room: folded
  EXPECT_EQ(series(text, "9000"), -1);
  EXPECT_EQ(series(text, "other"), 7);
  EXPECT_EQ(dropped(text), 7);
  // 53 idle for more than 2 s: its series goes, 9000 takes the slot; the 7
  // drops "other" showed stay there, the 3 since then are 9000's.
  text = scrape(5, 10, std::chrono::milliseconds(3000));
  EXPECT_EQ(series(text, "53"), -1);
  EXPECT_EQ(series(text, "9000"), 3);
  EXPECT_EQ(series(text, "other"), 7);
  EXPECT_EQ(dropped(text), 7);
  text = scrape(6, 16, std::chrono::milliseconds(4000));
  EXPECT_EQ(series(text, "9000"), 9);
  // 53 is back with one new drop and no room: only that drop is folded.
  EXPECT_EQ(series(text, "53"), -1);
  EXPECT_EQ(series(text, "other"), 8);
  EXPECT_EQ(dropped(text), 8);
  // 9000 keeps its series while it has drops.
  text = scrape(6, 20, std::chrono::milliseconds(9000));
  EXPECT_EQ(series(text, "9000"), 13);
  EXPECT_EQ(series(text, "other"), 8);
}

TEST(DropsCommand, UsageErrorsExitTwoAndNameTheFlag) {
  std::ostringstream out, err;
  EXPECT_EQ(run_drops_command({"--interval", "0.01"}, out, err), 2);
  EXPECT_NE(err.str().find("netobs drops: --interval: expected 0.1 to 3600 seconds, got \"0.01\""),
            std::string::npos)
      << err.str();
  err.str("");
  EXPECT_EQ(run_drops_command({"--netns", "x"}, out, err), 2);
  EXPECT_NE(err.str().find("--netns: expected a namespace path such as /run/netns/NAME"),
            std::string::npos)
      << err.str();
  err.str("");
  EXPECT_EQ(run_drops_command({"--count", "x"}, out, err), 2);
  EXPECT_NE(err.str().find("--count"), std::string::npos) << err.str();
  err.str("");
  EXPECT_EQ(run_drops_command({"--bogus"}, out, err), 2);
  EXPECT_NE(err.str().find("--bogus"), std::string::npos) << err.str();
  EXPECT_EQ(run_drops_command({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("usage: netobs drops"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("--reason R[,R...]"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace netobs
