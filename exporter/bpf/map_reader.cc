#include "exporter/bpf/map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>

#include "exporter/errno_name.h"

namespace netobs {
namespace {

// Entries per batch syscall: large enough that a full map takes a handful
// of calls, small enough that the buffers stay in the cache.
constexpr uint32_t kBatchChunk = 1024;

bool batch_unsupported(int err) { return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP; }

Status walk_error(const MapRef& map) {
  return Status::error("walking BPF map " + map.name + " found more than its " +
                       std::to_string(map.max_entries) +
                       " entries (keys changed during the walk); the next scrape reads it again");
}

// The key-by-key form of read_entries_raw.
Status read_entries_by_key(const MapRef& map, size_t key_size, size_t value_size,
                           std::vector<unsigned char>& keys, std::vector<unsigned char>& values) {
  std::vector<unsigned char> walked;
  Status status = walk_keys_raw(map, key_size, walked);
  if (!status) return status;
  std::vector<unsigned char> value(value_size);
  keys.clear();
  values.clear();
  for (size_t offset = 0; offset < walked.size(); offset += key_size) {
    if (bpf_map_lookup_elem(map.fd, walked.data() + offset, value.data()) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return map_error(map, "reading", errno);
    }
    keys.insert(keys.end(), walked.begin() + static_cast<std::ptrdiff_t>(offset),
                walked.begin() + static_cast<std::ptrdiff_t>(offset + key_size));
    values.insert(values.end(), value.begin(), value.end());
  }
  return Status::ok();
}

}  // namespace

MapRef MapRef::of(const bpf_map* map) {
  return MapRef{bpf_map__fd(map), bpf_map__name(map), bpf_map__max_entries(map),
                bpf_map__key_size(map), bpf_map__value_size(map)};
}

Result<size_t> possible_cpus() {
  static const int kCpus = libbpf_num_possible_cpus();
  if (kCpus <= 0) {
    return Status::error(
        "cannot count the possible CPUs for per-CPU maps: " + errno_message(-kCpus) +
        " (is /sys/devices/system/cpu/possible readable?)");
  }
  return static_cast<size_t>(kCpus);
}

Status map_error(const MapRef& map, std::string_view what, int err) {
  return Status::error(std::string(what) + " BPF map " + map.name +
                       " failed: " + errno_message(err));
}

Status lookup_value(const MapRef& map, const void* key, void* value) {
  if (bpf_map_lookup_elem(map.fd, key, value) != 0) return map_error(map, "reading", errno);
  return Status::ok();
}

Status lookup_percpu_raw(const MapRef& map, const void* key, std::vector<unsigned char>& raw,
                         size_t value_size, bool* missing) {
  Result<size_t> cpus = possible_cpus();
  if (!cpus) return cpus.status();
  raw.assign(*cpus * percpu_stride(value_size), 0);
  if (bpf_map_lookup_elem(map.fd, key, raw.data()) != 0) {
    const int err = errno;
    if (err == ENOENT && missing != nullptr) {
      *missing = true;
      return Status::ok();
    }
    return map_error(map, "reading", err);
  }
  return Status::ok();
}

Result<uint64_t> sum_percpu_u64(const MapRef& map, uint32_t key) {
  Result<std::vector<uint64_t>> values = lookup_percpu<uint64_t>(map, &key);
  if (!values) return values.status();
  uint64_t sum = 0;
  for (uint64_t v : *values) sum += v;
  return sum;
}

Result<std::vector<uint64_t>> sum_percpu_u64_array(const MapRef& map, uint32_t count) {
  Result<size_t> cpus = possible_cpus();
  if (!cpus) return cpus.status();
  std::vector<uint64_t> sums(count, 0);
  std::vector<uint32_t> keys(count);
  std::vector<uint64_t> values(static_cast<size_t>(count) * *cpus);
  uint32_t got = count;
  uint32_t out_batch = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  const int rc = count == 0 ? 0
                            : bpf_map_lookup_batch(map.fd, nullptr, &out_batch, keys.data(),
                                                   values.data(), &got, &opts);
  const int err = rc == 0 ? 0 : errno;
  if ((rc == 0 || err == ENOENT) && got == count) {
    for (uint32_t i = 0; i < got; ++i) {
      if (keys[i] >= count) continue;
      for (size_t cpu = 0; cpu < *cpus; ++cpu) sums[keys[i]] += values[i * *cpus + cpu];
    }
    return sums;
  }
  if (rc != 0 && err != ENOENT && !batch_unsupported(err)) return map_error(map, "reading", err);
  for (uint32_t key = 0; key < count; ++key) {
    Result<uint64_t> sum = sum_percpu_u64(map, key);
    if (!sum) return sum.status();
    sums[key] = *sum;
  }
  return sums;
}

Status walk_keys_raw(const MapRef& map, size_t key_size, std::vector<unsigned char>& keys) {
  keys.clear();
  std::vector<unsigned char> current(key_size);
  std::vector<unsigned char> next(key_size);
  const void* previous = nullptr;  // null asks for the first key
  for (uint64_t found = 0;; ++found) {
    if (bpf_map_get_next_key(map.fd, previous, next.data()) != 0) {
      if (errno == ENOENT) return Status::ok();  // the end of the map
      return map_error(map, "walking", errno);
    }
    if (found == map.max_entries) return walk_error(map);
    keys.insert(keys.end(), next.begin(), next.end());
    current.swap(next);
    previous = current.data();
  }
}

Status read_entries_raw(const MapRef& map, size_t key_size, size_t value_size,
                        std::vector<unsigned char>& keys, std::vector<unsigned char>& values) {
  keys.clear();
  values.clear();
  std::vector<unsigned char> chunk_keys(static_cast<size_t>(kBatchChunk) * key_size);
  std::vector<unsigned char> chunk_values(static_cast<size_t>(kBatchChunk) * value_size);
  // The batch position is opaque (a bucket index for hash maps); a key-sized
  // buffer (at least 4 bytes) is always large enough.
  std::vector<unsigned char> in_batch(std::max<size_t>(key_size, 4));
  std::vector<unsigned char> out_batch(in_batch.size());
  bool first = true;
  for (;;) {
    uint32_t count = kBatchChunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int rc = bpf_map_lookup_batch(map.fd, first ? nullptr : in_batch.data(), out_batch.data(),
                                        chunk_keys.data(), chunk_values.data(), &count, &opts);
    const int err = rc == 0 ? 0 : errno;
    if (rc != 0 && first && count == 0 && batch_unsupported(err)) {
      return read_entries_by_key(map, key_size, value_size, keys, values);  // kernel before 5.6
    }
    if (rc != 0 && err != ENOENT) return map_error(map, "reading", err);
    count = std::min(count, kBatchChunk);
    keys.insert(keys.end(), chunk_keys.begin(),
                chunk_keys.begin() + static_cast<std::ptrdiff_t>(count * key_size));
    values.insert(values.end(), chunk_values.begin(),
                  chunk_values.begin() + static_cast<std::ptrdiff_t>(count * value_size));
    if (keys.size() / key_size > map.max_entries) return walk_error(map);
    if (rc != 0) return Status::ok();  // ENOENT: the end of the map
    in_batch.swap(out_batch);
    first = false;
  }
}

}  // namespace netobs
