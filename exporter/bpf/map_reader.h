// The one way collectors read BPF maps at scrape time: per-CPU values (the
// CPU count read once), hash-map walks bounded by the map's capacity, batch
// lookups where the kernel has them, and one failure policy: any failed read
// returns an error Status naming the map and the errno, and the caller fails
// its scrape with it (never a silent partial answer). A key deleted between
// a walk and its lookup is not a failure: the entry is simply gone.
// Stateless functions over fds the collectors own; any thread may call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/status.h"

struct bpf_map;

namespace netobs {

// A map as the reader needs it: fd, name for messages, capacity for bounds.
struct MapRef {
  int fd = -1;
  std::string name;
  uint32_t max_entries = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;

  // From a loaded skeleton's map (bpf_map__fd, __name, __max_entries...).
  static MapRef of(const bpf_map* map);
};

// libbpf_num_possible_cpus(), read once per process: every per-CPU lookup
// returns one value per possible CPU.
Result<size_t> possible_cpus();

// Each CPU's slot in a per-CPU value is rounded up to 8 bytes by the kernel.
constexpr size_t percpu_stride(size_t value_size) { return (value_size + 7) / 8 * 8; }

// "reading BPF map <name> failed: <strerror> (<ENAME>)" (what = "reading").
Status map_error(const MapRef& map, std::string_view what, int err);

// One key of a map that is not per-CPU. A missing key is an error.
Status lookup_value(const MapRef& map, const void* key, void* value);

// One key of a per-CPU map, raw: possible_cpus() slots of percpu_stride(value_size).
// With `missing`, an absent key sets *missing and is not an error.
Status lookup_percpu_raw(const MapRef& map, const void* key, std::vector<unsigned char>& raw,
                         size_t value_size, bool* missing = nullptr);

// One key of a per-CPU map, one V per possible CPU.
template <typename V>
Result<std::vector<V>> lookup_percpu(const MapRef& map, const void* key) {
  std::vector<unsigned char> raw;
  Status read = lookup_percpu_raw(map, key, raw, sizeof(V));
  if (!read) return read;
  const size_t stride = percpu_stride(sizeof(V));
  std::vector<V> values(raw.size() / stride);
  for (size_t cpu = 0; cpu < values.size(); ++cpu) {
    std::memcpy(&values[cpu], raw.data() + cpu * stride, sizeof(V));
  }
  return values;
}

// The sum over CPUs of a per-CPU __u64 (or __s64, summed in two's complement).
Result<uint64_t> sum_percpu_u64(const MapRef& map, uint32_t key);

// Sums of per-CPU __u64 values for the keys 0..count-1 of a per-CPU array:
// one batch lookup where the kernel supports it (5.6+), else key by key.
Result<std::vector<uint64_t>> sum_percpu_u64_array(const MapRef& map, uint32_t count);

// Every key of a hash map, raw (key_size bytes each), by bpf_map_get_next_key.
// At most max_entries keys: a walk that finds more (keys deleted during the
// walk make it restart from the first key) stops and returns an error.
Status walk_keys_raw(const MapRef& map, size_t key_size, std::vector<unsigned char>& keys);

template <typename K>
Result<std::vector<K>> map_keys(const MapRef& map) {
  std::vector<unsigned char> raw;
  Status walked = walk_keys_raw(map, sizeof(K), raw);
  if (!walked) return walked;
  std::vector<K> keys(raw.size() / sizeof(K));
  if (!keys.empty()) std::memcpy(keys.data(), raw.data(), raw.size());
  return keys;
}

// Calls visit(key, per_cpu_values) for every entry of a per-CPU hash map;
// keys that vanish between the walk and their lookup are skipped.
template <typename K, typename V, typename Visit>
Status for_each_percpu_entry(const MapRef& map, Visit&& visit) {
  Result<std::vector<K>> keys = map_keys<K>(map);
  if (!keys) return keys.status();
  std::vector<unsigned char> raw;
  const size_t stride = percpu_stride(sizeof(V));
  std::vector<V> values;
  for (const K& key : *keys) {
    bool missing = false;
    Status read = lookup_percpu_raw(map, &key, raw, sizeof(V), &missing);
    if (!read) return read;
    if (missing) continue;  // deleted meanwhile
    values.resize(raw.size() / stride);
    for (size_t cpu = 0; cpu < values.size(); ++cpu) {
      std::memcpy(&values[cpu], raw.data() + cpu * stride, sizeof(V));
    }
    visit(key, values);
  }
  return Status::ok();
}

// Every entry of a hash map that is not per-CPU: batched lookups (one
// syscall per chunk) where the kernel has them, else a bounded key walk.
// Keys deleted during the walk are skipped; more than max_entries entries
// (keys churning faster than the walk) is an error.
Status read_entries_raw(const MapRef& map, size_t key_size, size_t value_size,
                        std::vector<unsigned char>& keys, std::vector<unsigned char>& values);

template <typename K, typename V>
Result<std::vector<std::pair<K, V>>> read_entries(const MapRef& map) {
  std::vector<unsigned char> keys;
  std::vector<unsigned char> values;
  Status read = read_entries_raw(map, sizeof(K), sizeof(V), keys, values);
  if (!read) return read;
  std::vector<std::pair<K, V>> entries(keys.size() / sizeof(K));
  for (size_t i = 0; i < entries.size(); ++i) {
    std::memcpy(&entries[i].first, keys.data() + i * sizeof(K), sizeof(K));
    std::memcpy(&entries[i].second, values.data() + i * sizeof(V), sizeof(V));
  }
  return entries;
}

}  // namespace netobs
