#include "collectors/snmp/field_types.h"

#include <array>

namespace netobs {
namespace {

// From include/uapi/linux/snmp.h and net/ipv4/proc.c: these are written with
// assignments (settings, current levels), not incremented. MaxConn is signed
// (-1 = no limit). Everything else in the three files only ever increases.
constexpr std::array<GaugeField, 8> kGaugeFields = {{
    {"Ip", "Forwarding", "1 = forwarding (router), 2 = not forwarding (host)"},
    {"Ip", "DefaultTTL", "default TTL of outgoing IPv4 packets"},
    {"Tcp", "RtoAlgorithm", "retransmission timeout algorithm (1 = other, Linux)"},
    {"Tcp", "RtoMin", "minimum retransmission timeout, milliseconds"},
    {"Tcp", "RtoMax", "maximum retransmission timeout, milliseconds"},
    {"Tcp", "MaxConn", "connection limit; -1 = no fixed limit"},
    {"Tcp", "CurrEstab", "TCP connections now in ESTABLISHED or CLOSE-WAIT"},
    {"MPTcpExt", "MPCurrEstab", "MPTCP connections now established"},
}};

}  // namespace

std::span<const GaugeField> gauge_fields() { return kGaugeFields; }

MibType mib_field_type(std::string_view group, std::string_view field) {
  for (const GaugeField& gauge : kGaugeFields) {
    if (gauge.group == group && gauge.field == field) return MibType::kGauge;
  }
  return MibType::kCounter;
}

}  // namespace netobs
