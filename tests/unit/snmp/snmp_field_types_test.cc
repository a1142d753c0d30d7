// The gauge table: which /proc/net SNMP fields are not counters.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "collectors/snmp/field_types.h"
#include "collectors/snmp/proc_net_parser.h"

namespace netobs {
namespace {

TEST(SnmpFieldTypes, StateFieldsAreGauges) {
  for (const auto& [group, field] : std::set<std::pair<std::string, std::string>>{
           {"Ip", "Forwarding"},
           {"Ip", "DefaultTTL"},
           {"Tcp", "RtoAlgorithm"},
           {"Tcp", "RtoMin"},
           {"Tcp", "RtoMax"},
           {"Tcp", "MaxConn"},
           {"Tcp", "CurrEstab"},
           {"MPTcpExt", "MPCurrEstab"},
       }) {
    EXPECT_EQ(mib_field_type(group, field), MibType::kGauge) << group << "." << field;
  }
  EXPECT_EQ(gauge_fields().size(), 8u);
}

TEST(SnmpFieldTypes, EverythingElseIsACounter) {
  for (const auto& [group, field] : std::set<std::pair<std::string, std::string>>{
           {"Tcp", "RetransSegs"},
           {"Tcp", "ActiveOpens"},
           {"TcpExt", "ListenDrops"},
           {"TcpExt", "TCPMemoryPressuresChrono"},  // cumulative milliseconds
           {"Udp", "InDatagrams"},
           {"Ip6", "InReceives"},
           {"Icmp6", "OutType135"},
           {"IpExt", "InOctets"},
           {"FutureExt", "SomethingNew"},  // unknown fields default to counters
           {"Ip", "CurrEstab"},            // the name alone does not make a gauge
       }) {
    EXPECT_EQ(mib_field_type(group, field), MibType::kCounter) << group << "." << field;
  }
}

TEST(SnmpFieldTypes, EveryGaugeExistsOnThisKernel) {
  // Guards the table against typos: each entry is a real field of a real file.
  MibSnapshot snapshot =
      read_mib_snapshot(std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/real");
  for (const GaugeField& gauge : gauge_fields()) {
    bool found = false;
    for (const MibEntry& entry : snapshot.parsed.entries) {
      found = found || (entry.group == gauge.group && entry.field == gauge.field);
    }
    EXPECT_TRUE(found) << gauge.group << "." << gauge.field;
    EXPECT_FALSE(gauge.why.empty());
  }
}

}  // namespace
}  // namespace netobs
