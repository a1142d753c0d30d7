// Settings of the snmp collector (`collectors.snmp` in netobs.yaml): the struct with
// its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

// Thresholds of the verdicts; each check exports 0 ok, 1 warning, 2 critical.
struct SnmpThresholds {
  double retrans_ratio_warning = 0.01;
  double retrans_ratio_critical = 0.05;
  double tlp_share_warning = 0.30;
  double tlp_share_critical = 0.50;
  double listen_drops_per_second_warning = 0;   // any listen drop is a warning...
  double listen_drops_per_second_critical = 1;  // ...and a sustained rate critical

  bool operator==(const SnmpThresholds&) const = default;
};

struct SnmpConfig : CollectorSettingsOf<SnmpConfig> {
  static constexpr std::string_view kSection = "snmp";

  double sample_interval_seconds = 5;
  std::vector<double> windows_seconds = {60, 300, 900};
  // "Group.Field" names, e.g. "Tcp.RetransSegs", "TcpExt.ListenDrops".
  std::vector<std::string> rate_counters = {"Tcp.InSegs",
                                            "Tcp.OutSegs",
                                            "Tcp.RetransSegs",
                                            "Tcp.ActiveOpens",
                                            "Tcp.PassiveOpens",
                                            "Tcp.AttemptFails",
                                            "Tcp.EstabResets",
                                            "Tcp.OutRsts",
                                            "Tcp.InErrs",
                                            "TcpExt.ListenDrops",
                                            "TcpExt.ListenOverflows",
                                            "TcpExt.TCPLossProbes",
                                            "TcpExt.TCPFastRetrans",
                                            "TcpExt.TCPTimeouts",
                                            "TcpExt.TCPSynRetrans",
                                            "TcpExt.TCPLostRetransmit",
                                            "TcpExt.PruneCalled",
                                            "TcpExt.RcvPruned",
                                            "TcpExt.TCPRcvQDrop",
                                            "Udp.InErrors",
                                            "Udp.RcvbufErrors",
                                            "Udp.SndbufErrors",
                                            "Udp.NoPorts"};
  SnmpThresholds thresholds;

  bool operator==(const SnmpConfig&) const = default;
};

// The `collectors.snmp` section: fields, ranges, checks across fields.
CollectorConfigSection snmp_config_section();

}  // namespace netobs
