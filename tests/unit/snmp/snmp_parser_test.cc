// Parsers of /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 against
// real files from a 6.18 kernel and hand-edited malformed variants.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "collectors/snmp/proc_net_parser.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

std::string fixture(const std::string& name) {
  return std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/" + name;
}

std::map<std::string, MibValue> by_name(const MibSnapshot& snapshot) {
  std::map<std::string, MibValue> values;
  for (const MibEntry& entry : snapshot.parsed.entries) {
    values[entry.group + "." + entry.field] = entry.value;
  }
  return values;
}

size_t count_kind(const MibSnapshot& snapshot, ParseErrorKind kind) {
  size_t n = 0;
  for (const ParseError& error : snapshot.parsed.errors) n += error.kind == kind ? 1 : 0;
  return n;
}

TEST(SnmpParser, RealFilesParseCompletely) {
  MibSnapshot snapshot = read_mib_snapshot(fixture("real"));
  EXPECT_TRUE(snapshot.parsed.errors.empty());
  EXPECT_TRUE(snapshot.snmp6_present);
  // Every name of every header line and every snmp6 line becomes one entry.
  size_t expected = 0;
  for (const char* file : {"snmp", "netstat"}) {
    std::string text = testing::read_file(fixture("real/net/") + file);
    size_t pos = 0;
    bool header = true;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      std::string line = text.substr(pos, end - pos);
      if (header) {
        size_t words = 0;
        for (size_t i = line.find(':') + 1; i < line.size(); ++i) {
          if (line[i] != ' ' && (i == 0 || line[i - 1] == ' ')) ++words;
        }
        expected += words;
      }
      header = !header;
      if (end == std::string::npos) break;
      pos = end + 1;
    }
  }
  std::string snmp6 = testing::read_file(fixture("real/net/snmp6"));
  expected += static_cast<size_t>(std::count(snmp6.begin(), snmp6.end(), '\n'));
  EXPECT_EQ(snapshot.parsed.entries.size(), expected);

  auto values = by_name(snapshot);
  EXPECT_EQ(values.at("Tcp.MaxConn").as_signed(), -1);
  EXPECT_TRUE(values.at("Tcp.MaxConn").negative);
  EXPECT_EQ(values.at("Tcp.RtoMax").bits, 120000u);
  EXPECT_EQ(values.at("Ip.DefaultTTL").bits, 64u);
  EXPECT_EQ(values.at("IcmpMsg.InType3").bits, 1u);
  EXPECT_EQ(values.at("IpExt.InOctets").bits, 65475200u);
  EXPECT_EQ(values.at("Ip6.InReceives").bits, 1u);
  EXPECT_TRUE(values.count("Icmp6.OutType135"));
  EXPECT_TRUE(values.count("UdpLite6.InDatagrams"));
  EXPECT_TRUE(values.count("MPTcpExt.MPCurrEstab"));
}

TEST(SnmpParser, SeedValuesExact) {
  auto t0 = by_name(read_mib_snapshot(fixture("seed_t0")));
  auto t1 = by_name(read_mib_snapshot(fixture("seed_t1")));
  auto t2 = by_name(read_mib_snapshot(fixture("seed_t2")));
  EXPECT_EQ(t0.at("Tcp.RetransSegs").bits, 59552995u);
  EXPECT_EQ(t1.at("Tcp.RetransSegs").bits, 59553357u);
  EXPECT_EQ(t2.at("Tcp.RetransSegs").bits, 59553598u);
  EXPECT_EQ(t0.at("Tcp.InSegs").bits, 125985579572u);
  EXPECT_EQ(t0.at("Tcp.OutSegs").bits, 223442701751u);
  EXPECT_EQ(t1.at("Tcp.OutSegs").bits, 223443516551u);
  EXPECT_EQ(t0.at("TcpExt.TCPLossProbes").bits, 24570526u);
  EXPECT_EQ(t1.at("TcpExt.TCPLossProbes").bits, 24570590u);
  EXPECT_EQ(t0.at("TcpExt.TCPFastRetrans").bits, 33066266u);
  EXPECT_EQ(t0.at("TcpExt.ListenDrops").bits, 28747070u);
}

TEST(SnmpParser, MalformedLinesCountedRestExported) {
  MibSnapshot snapshot = read_mib_snapshot(fixture("malformed"));
  // snmp: Icmp "abc", garbage line, Udp count mismatch, UdpLite 2^64.
  EXPECT_EQ(snapshot.errors_per_file[0], 4u);
  // netstat: MPTcpExt header without its value line (truncated).
  EXPECT_EQ(snapshot.errors_per_file[1], 1u);
  // snmp6: "Ip6Bogus" alone, "12x", and a negative counter.
  EXPECT_EQ(snapshot.errors_per_file[2], 3u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kInvalidNumber), 2u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kMalformedLine), 2u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kCountMismatch), 1u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kOutOfRange), 1u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kMissingValues), 1u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kNegativeCounter), 1u);

  auto values = by_name(snapshot);
  // The bad Icmp value is skipped, its neighbours are kept.
  EXPECT_FALSE(values.count("Icmp.InErrors"));
  EXPECT_EQ(values.at("Icmp.InMsgs").bits, 1u);
  EXPECT_EQ(values.at("Icmp.InCsumErrors").bits, 0u);
  // A pair with a count mismatch is skipped whole: positions cannot be trusted.
  EXPECT_FALSE(values.count("Udp.InDatagrams"));
  EXPECT_FALSE(values.count("UdpLite.InDatagrams"));
  EXPECT_TRUE(values.count("UdpLite.NoPorts"));
  EXPECT_EQ(values.at("Tcp.MaxConn").as_signed(), -1);
  // u64 max is a valid value.
  EXPECT_EQ(values.at("TcpExt.TCPOrigDataSent").bits, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(values.at("Ip6.InReceives").bits, std::numeric_limits<uint64_t>::max());
  // A group this code has never seen is exported like any other.
  EXPECT_EQ(values.at("FutureExt.NewField1").bits, 7u);
  EXPECT_EQ(values.at("FutureExt.NewField2").bits, 8u);
  EXPECT_TRUE(values.count("IpExt.InOctets"));
  EXPECT_FALSE(values.count("MPTcpExt.MPCurrEstab"));
  EXPECT_FALSE(values.count("Udp6.InErrors"));
  EXPECT_FALSE(values.count("Icmp6.OutMsgs"));
  EXPECT_TRUE(values.count("Udp6.InDatagrams"));
}

TEST(SnmpParser, TruncatedFileAndMissingSnmp6) {
  MibSnapshot snapshot = read_mib_snapshot(fixture("truncated"));
  EXPECT_FALSE(snapshot.snmp6_present);
  EXPECT_EQ(snapshot.errors_per_file[0], 1u);  // the cut Tcp value line
  EXPECT_EQ(snapshot.errors_per_file[1], 0u);
  EXPECT_EQ(snapshot.errors_per_file[2], 0u);  // IPv6 disabled is not an error
  auto values = by_name(snapshot);
  EXPECT_TRUE(values.count("Ip.Forwarding"));
  EXPECT_FALSE(values.count("Tcp.RtoMin"));
  EXPECT_TRUE(values.count("TcpExt.ListenDrops"));
}

TEST(SnmpParser, MissingFilesAreOneErrorEach) {
  testing::TempDir dir;
  MibSnapshot snapshot = read_mib_snapshot(dir.path());
  EXPECT_TRUE(snapshot.parsed.entries.empty());
  EXPECT_EQ(snapshot.errors_per_file[0], 1u);
  EXPECT_EQ(snapshot.errors_per_file[1], 1u);
  EXPECT_EQ(snapshot.errors_per_file[2], 0u);
  EXPECT_EQ(count_kind(snapshot, ParseErrorKind::kUnreadable), 2u);
}

TEST(SnmpParser, ValueParsing) {
  MibValue value;
  bool out_of_range = false;
  EXPECT_TRUE(parse_mib_value("0", value, out_of_range));
  EXPECT_EQ(value, MibValue::from_unsigned(0));
  EXPECT_TRUE(parse_mib_value("18446744073709551615", value, out_of_range));
  EXPECT_EQ(value.bits, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(value.negative);
  EXPECT_EQ(value.to_string(), "18446744073709551615");
  EXPECT_DOUBLE_EQ(value.as_double(), 18446744073709551615.0);
  EXPECT_FALSE(parse_mib_value("18446744073709551616", value, out_of_range));
  EXPECT_TRUE(out_of_range);
  EXPECT_TRUE(parse_mib_value("-1", value, out_of_range));
  EXPECT_EQ(value.as_signed(), -1);
  EXPECT_EQ(value.to_string(), "-1");
  EXPECT_EQ(value.as_double(), -1.0);
  EXPECT_TRUE(parse_mib_value("-9223372036854775808", value, out_of_range));
  EXPECT_EQ(value.as_signed(), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(parse_mib_value("-9223372036854775809", value, out_of_range));
  EXPECT_TRUE(out_of_range);
  EXPECT_TRUE(parse_mib_value("-0", value, out_of_range));
  EXPECT_FALSE(value.negative);
  for (const char* bad : {"", "-", "+1", "1.5", "0x10", "12x", " 1", "1e3", "--1"}) {
    EXPECT_FALSE(parse_mib_value(bad, value, out_of_range)) << bad;
    EXPECT_FALSE(out_of_range) << bad;
  }
}

TEST(SnmpParser, Snmp6KeySplit) {
  auto split = [](std::string_view key) {
    auto [group, field] = split_snmp6_key(key);
    return std::string(group) + "|" + std::string(field);
  };
  EXPECT_EQ(split("Ip6InReceives"), "Ip6|InReceives");
  EXPECT_EQ(split("Icmp6InType1"), "Icmp6|InType1");
  EXPECT_EQ(split("Icmp6OutType135"), "Icmp6|OutType135");
  EXPECT_EQ(split("Udp6InDatagrams"), "Udp6|InDatagrams");
  EXPECT_EQ(split("UdpLite6InDatagrams"), "UdpLite6|InDatagrams");
  EXPECT_EQ(split("Sctp6FutureThing"), "Sctp6|FutureThing");  // never seen: same rule
  EXPECT_EQ(split("NoDigits"), "NoDigits|");
  EXPECT_EQ(split("Ip6"), "Ip6|");
}

TEST(SnmpParser, HeaderValueEdgeCases) {
  ParseResult result;
  // CRLF line ends, tabs, blank lines and a missing final newline are fine.
  parse_header_value_text("Tcp: A\tB\r\nTcp: 1 2\r\n\n\nUdp: C\nUdp: 3", ProcNetFile::kSnmp,
                          result);
  ASSERT_TRUE(result.errors.empty());
  ASSERT_EQ(result.entries.size(), 3u);
  EXPECT_EQ(result.entries[1].field, "B");
  EXPECT_EQ(result.entries[1].value.bits, 2u);
  EXPECT_EQ(result.entries[2].group, "Udp");

  // Two headers in a row: the first is reported, the second still pairs.
  ParseResult resync;
  parse_header_value_text("Tcp: A B\nUdp: C\nUdp: 5\n", ProcNetFile::kSnmp, resync);
  ASSERT_EQ(resync.errors.size(), 1u);
  EXPECT_EQ(resync.errors[0].kind, ParseErrorKind::kMissingValues);
  EXPECT_EQ(resync.errors[0].line, 1);
  ASSERT_EQ(resync.entries.size(), 1u);
  EXPECT_EQ(resync.entries[0].field, "C");

  // Names with odd characters are rejected (they become label values).
  ParseResult names;
  parse_header_value_text("Tcp: Good Ba\"d\nTcp: 1 2\n", ProcNetFile::kSnmp, names);
  ASSERT_EQ(names.errors.size(), 1u);
  EXPECT_EQ(names.errors[0].kind, ParseErrorKind::kInvalidName);
  ASSERT_EQ(names.entries.size(), 1u);

  // One error per line, however many bad values it has.
  ParseResult many;
  parse_header_value_text("Tcp: A B C\nTcp: x y 3\n", ProcNetFile::kSnmp, many);
  EXPECT_EQ(many.errors.size(), 1u);
  EXPECT_EQ(many.entries.size(), 1u);
}

TEST(SnmpParser, DuplicatesAcrossFilesDropped) {
  MibSnapshot snapshot =
      parse_mib_texts("Tcp: A B\nTcp: 1 2\nTcp: A\nTcp: 9\n", "Tcp: B\nTcp: 7\n", "");
  ASSERT_EQ(snapshot.parsed.entries.size(), 2u);
  EXPECT_EQ(snapshot.parsed.entries[0].value.bits, 1u);
  EXPECT_EQ(snapshot.parsed.entries[1].value.bits, 2u);
  EXPECT_EQ(snapshot.errors_per_file[0], 1u);
  EXPECT_EQ(snapshot.errors_per_file[1], 1u);
}

TEST(SnmpParser, NegativeOnlyForGauges) {
  MibSnapshot snapshot = parse_mib_texts("Tcp: MaxConn ActiveOpens\nTcp: -1 -5\n", "", "");
  ASSERT_EQ(snapshot.parsed.entries.size(), 1u);
  EXPECT_EQ(snapshot.parsed.entries[0].field, "MaxConn");
  EXPECT_EQ(snapshot.errors_per_file[0], 1u);
  EXPECT_EQ(snapshot.parsed.errors[0].kind, ParseErrorKind::kNegativeCounter);
}

}  // namespace
}  // namespace netobs
