// LabelSlotTable: the bounded set of label values a collector gives series
// to (socket comms or cgroups, dns domains, tcp groups, ...), with the time
// each was last active, so slots idle for longer than `idle_after` are given
// back and a long-running service gets its own series after a burst of
// short-lived ones. Values beyond the capacity fold into `other` as before
// (the caller counts them).
//
// Two ways to use it:
//  - user space hands out slots:  acquire(key, now) -> slot or nullopt (fold);
//  - the kernel hands them out (BPF maps): observe(slot, key, activity, now)
//    at each snapshot, where `activity` is any counter that grows with use.
// Then reclaim_idle(now) returns (and forgets) the slots to free.
// Not thread-safe: the owning collector calls it under its collect lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace netobs {

class LabelSlotTable {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    uint32_t slot = 0;
    std::string key;
  };

  // idle_after == 0: slots are never reclaimed (first come, first served).
  LabelSlotTable(uint32_t capacity, Clock::duration idle_after);

  std::optional<uint32_t> acquire(const std::string& key, Clock::time_point now);
  void observe(uint32_t slot, const std::string& key, uint64_t activity, Clock::time_point now);

  // Slots idle for longer than idle_after; with `gone` (e.g. "the cgroup was
  // removed"), also slots whose key is gone and idle for longer than
  // gone_after. They are removed from the table.
  std::vector<Entry> reclaim_idle(Clock::time_point now,
                                  const std::function<bool(const std::string&)>& gone = nullptr,
                                  Clock::duration gone_after = Clock::duration::zero());

  std::optional<uint32_t> find(const std::string& key) const;
  size_t size() const { return by_key_.size(); }
  uint32_t capacity() const { return capacity_; }
  uint64_t reclaimed_total() const { return reclaimed_total_; }

 private:
  struct Slot {
    std::string key;
    uint64_t activity = 0;
    Clock::time_point last_active;
    bool used = false;
  };

  const uint32_t capacity_;
  const Clock::duration idle_after_;
  std::vector<Slot> slots_;
  std::unordered_map<std::string, uint32_t> by_key_;
  std::vector<uint32_t> free_;  // in user-space mode, lowest first
  uint64_t reclaimed_total_ = 0;
};

}  // namespace netobs
