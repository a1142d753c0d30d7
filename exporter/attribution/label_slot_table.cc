#include "exporter/attribution/label_slot_table.h"

#include <algorithm>

namespace netobs {

LabelSlotTable::LabelSlotTable(uint32_t capacity, Clock::duration idle_after)
    : capacity_(capacity), idle_after_(idle_after), slots_(capacity) {
  free_.reserve(capacity);
  for (uint32_t slot = capacity; slot > 0; --slot) free_.push_back(slot - 1);
}

std::optional<uint32_t> LabelSlotTable::find(const std::string& key) const {
  auto found = by_key_.find(key);
  if (found == by_key_.end()) return std::nullopt;
  return found->second;
}

std::optional<uint32_t> LabelSlotTable::acquire(const std::string& key, Clock::time_point now) {
  if (auto found = by_key_.find(key); found != by_key_.end()) {
    slots_[found->second].last_active = now;
    return found->second;
  }
  if (free_.empty()) return std::nullopt;
  uint32_t slot = free_.back();
  free_.pop_back();
  slots_[slot] = {key, 0, now, true};
  by_key_[key] = slot;
  return slot;
}

void LabelSlotTable::observe(uint32_t slot, const std::string& key, uint64_t activity,
                             Clock::time_point now) {
  if (slot >= capacity_) return;
  Slot& entry = slots_[slot];
  if (!entry.used || entry.key != key) {
    if (entry.used) by_key_.erase(entry.key);
    entry = {key, activity, now, true};
    by_key_[key] = slot;
    std::erase(free_, slot);
    return;
  }
  if (activity != entry.activity) {
    entry.activity = activity;
    entry.last_active = now;
  }
}

std::vector<LabelSlotTable::Entry> LabelSlotTable::reclaim_idle(
    Clock::time_point now, const std::function<bool(const std::string&)>& gone,
    Clock::duration gone_after) {
  std::vector<Entry> reclaimed;
  if (idle_after_ <= Clock::duration::zero() && !gone) return reclaimed;
  for (uint32_t slot = 0; slot < capacity_; ++slot) {
    Slot& entry = slots_[slot];
    if (!entry.used) continue;
    Clock::duration idle = now - entry.last_active;
    bool expired = idle_after_ > Clock::duration::zero() && idle > idle_after_;
    if (!expired && gone && idle > gone_after && gone(entry.key)) expired = true;
    if (!expired) continue;
    reclaimed.push_back({slot, entry.key});
    by_key_.erase(entry.key);
    entry = Slot{};
    free_.push_back(slot);
  }
  std::sort(free_.begin(), free_.end(), std::greater<>());  // lowest slot handed out first
  reclaimed_total_ += reclaimed.size();
  return reclaimed;
}

}  // namespace netobs
