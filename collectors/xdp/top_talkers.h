// Bounded top-K of talkers from packet samples (Space-Saving, Metwally et
// al. 2005): at most `capacity` keys are tracked; a new key evicts the
// least-sampled one and inherits its count, so counts are over-estimates by
// at most `error`. Not thread-safe: the xdp collector guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collectors/xdp/sample_decoder.h"

namespace netobs {

class TopTalkers {
 public:
  struct Entry {
    TalkerKey key;
    uint64_t samples = 0;  // sampled packets (an over-estimate by up to `error`)
    uint64_t bytes = 0;    // bytes of the sampled packets (likewise)
    uint64_t error = 0;    // count inherited from the evicted key
  };

  explicit TopTalkers(size_t capacity);

  void add(const TalkerKey& key, uint64_t bytes);
  // The k keys with the most samples, most first (ties: by key).
  std::vector<Entry> top(size_t k) const;
  size_t size() const { return entries_.size(); }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Counts {
    uint64_t samples = 0;
    uint64_t bytes = 0;
    uint64_t error = 0;
  };
  using Map = std::unordered_map<TalkerKey, Counts, TalkerKeyHash>;

  size_t capacity_;
  Map entries_;
  // (samples, key) of every entry, least first: the eviction candidate.
  std::set<std::pair<uint64_t, const TalkerKey*>> order_;
  uint64_t evictions_ = 0;
};

}  // namespace netobs
