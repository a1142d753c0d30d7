// Which network interfaces the xdp collector attaches to: include globs
// (collectors.xdp.interfaces, else network.interfaces; empty: all) minus
// network.exclude_interfaces.
#pragma once

#include "exporter/net/interface_selector.h"

namespace netobs {

struct Config;

InterfaceSelector xdp_interface_selector(const Config& config);

}  // namespace netobs
