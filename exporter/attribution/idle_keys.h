// IdleKeys: the idle time of keys a BPF hash map allocates itself (tcp
// groups, flow edges, ...). Where LabelSlotTable tracks numbered slots, the
// kernel here inserts a key on its first event and folds into `other` once
// the map is full; user space reads the map at each collect, tells IdleKeys
// each key's activity (any counter that grows with use), and deletes the keys
// reclaim_idle returns, which makes room for new keys (a long-running service
// gets its own series after a burst of short-lived ones).
// Not thread-safe: the owning collector calls it under its collect lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace netobs {

template <typename Key, typename Hash = std::hash<Key>>
class IdleKeys {
 public:
  using Clock = std::chrono::steady_clock;

  // idle_after == 0: keys are never reclaimed (first come, first kept).
  explicit IdleKeys(Clock::duration idle_after = Clock::duration::zero())
      : idle_after_(idle_after) {}

  bool enabled() const { return idle_after_ > Clock::duration::zero(); }

  // Call once per collect for every key read from the map. A key seen for the
  // first time, or whose activity moved, is active now.
  void observe(const Key& key, uint64_t activity, Clock::time_point now) {
    auto [it, inserted] = keys_.try_emplace(key, Entry{activity, now, generation_});
    Entry& entry = it->second;
    if (!inserted && entry.activity != activity) {
      entry.activity = activity;
      entry.last_active = now;
    }
    entry.seen = generation_;
  }

  // Keys idle for longer than idle_after (forgotten here; the caller deletes
  // them from its maps). Keys not observed since the previous call are gone
  // from the map already and are forgotten too.
  std::vector<Key> reclaim_idle(Clock::time_point now) {
    std::vector<Key> idle;
    for (auto it = keys_.begin(); it != keys_.end();) {
      const bool unseen = it->second.seen != generation_;
      const bool expired = enabled() && now - it->second.last_active > idle_after_;
      if (expired && !unseen) idle.push_back(it->first);
      if (expired || unseen) {
        it = keys_.erase(it);
      } else {
        ++it;
      }
    }
    ++generation_;
    reclaimed_total_ += idle.size();
    return idle;
  }

  size_t size() const { return keys_.size(); }
  uint64_t reclaimed_total() const { return reclaimed_total_; }

 private:
  struct Entry {
    uint64_t activity = 0;
    Clock::time_point last_active;
    uint64_t seen = 0;
  };
  Clock::duration idle_after_;
  std::unordered_map<Key, Entry, Hash> keys_;
  uint64_t generation_ = 0;
  uint64_t reclaimed_total_ = 0;
};

}  // namespace netobs
