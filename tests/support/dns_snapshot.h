// The dns collector's snapshot for its tests: a failed map read fails the
// test (and reads as an empty snapshot, so the value assertions that follow
// fail too).
#pragma once

#include <gtest/gtest.h>

#include "collectors/dns/dns_collector.h"

namespace netobs::testing {

inline DnsSnapshot snapshot_of(const DnsCollector& collector) {
  Result<DnsSnapshot> snap = collector.snapshot();
  if (!snap) {
    ADD_FAILURE() << "reading the dns collector's maps: " << snap.message();
    return {};
  }
  return *snap;
}

}  // namespace netobs::testing
