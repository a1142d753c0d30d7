// Settings of the xdp collector (`collectors.xdp` in netobs.yaml): the struct with
// its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct XdpConfig : CollectorSettingsOf<XdpConfig> {
  static constexpr std::string_view kSection = "xdp";

  XdpConfig() { common.enabled = false; }  // attaches to NICs: opt-in

  uint32_t sample_rate = 1000;          // 1-in-N packets; 0 ("every packet") is stored as 1
  std::vector<std::string> interfaces;  // names or globs; empty: all but excluded
  std::string mode = "auto";            // auto | native | generic | tc
  std::vector<uint16_t> filter_ports;   // at most 64, each with its own counters
  std::vector<std::string> filter_protocols;
  uint32_t top_talkers = 10;  // 0: off; else the busiest (src, dst, protocol, port) exported

  bool operator==(const XdpConfig&) const = default;
};

// The `collectors.xdp` section: fields, ranges, checks across fields.
CollectorConfigSection xdp_config_section();

}  // namespace netobs
