#include "collectors/xdp/top_talkers.h"

#include <algorithm>

namespace netobs {

TopTalkers::TopTalkers(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void TopTalkers::add(const TalkerKey& key, uint64_t bytes) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    order_.erase({it->second.samples, &it->first});
    it->second.samples += 1;
    it->second.bytes += bytes;
    order_.insert({it->second.samples, &it->first});
    return;
  }
  Counts counts{1, bytes, 0};
  if (entries_.size() >= capacity_) {
    // Evict the least-sampled key; the newcomer inherits its counts.
    const auto [min_samples, min_key] = *order_.begin();
    order_.erase(order_.begin());
    auto victim = entries_.find(*min_key);
    counts = {min_samples + 1, victim->second.bytes + bytes, min_samples};
    entries_.erase(victim);
    ++evictions_;
  }
  auto [inserted, ok] = entries_.emplace(key, counts);
  (void)ok;
  // Pointers to unordered_map elements stay valid across rehashing.
  order_.insert({inserted->second.samples, &inserted->first});
}

std::vector<TopTalkers::Entry> TopTalkers::top(size_t k) const {
  std::vector<Entry> all;
  all.reserve(entries_.size());
  for (const auto& [key, counts] : entries_) {
    all.push_back({key, counts.samples, counts.bytes, counts.error});
  }
  const size_t n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<long>(n), all.end(),
                    [](const Entry& a, const Entry& b) {
                      if (a.samples != b.samples) return a.samples > b.samples;
                      return a.key < b.key;
                    });
  all.resize(n);
  return all;
}

}  // namespace netobs
