// The shared BPF map reader on real kernel maps (needs root): per-CPU sums
// against values written per CPU, hash walks bounded by capacity, batch and
// key-by-key reads giving the same entries, and every failure reported with
// the map's name, failing the collector's scrape.
#include "exporter/bpf/map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/errno_name.h"
#include "exporter/collector.h"
#include "exporter/metric_builder.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

// Creating BPF maps needs root (CAP_BPF): skipped without it, a failure in CI.
class MapReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { NETOBS_REQUIRE_ROOT(); }
};

// A map created for the test, closed at the end.
struct TestMap {
  UniqueFd fd;
  MapRef ref;
};

TestMap create_map(bpf_map_type type, const char* name, uint32_t key_size, uint32_t value_size,
                   uint32_t max_entries) {
  const int fd = bpf_map_create(type, name, key_size, value_size, max_entries, nullptr);
  EXPECT_GE(fd, 0) << "bpf_map_create " << name << ": " << errno_message(errno);
  return {UniqueFd(fd), MapRef{fd, name, max_entries, key_size, value_size}};
}

size_t cpus() {
  Result<size_t> n = possible_cpus();
  EXPECT_TRUE(n.is_ok()) << n.message();
  return n ? *n : 1;
}

TEST_F(MapReaderTest, CpuCountIsTheKernelsPossibleCpus) {
  EXPECT_EQ(cpus(), static_cast<size_t>(libbpf_num_possible_cpus()));
  EXPECT_GE(cpus(), 1u);
}

// Writes value(cpu, key) into every CPU's slot, then reads the sums back.
TEST_F(MapReaderTest, SumsPerCpuCountersOfAnArray) {
  constexpr uint32_t kKeys = 40;
  TestMap map = create_map(BPF_MAP_TYPE_PERCPU_ARRAY, "t_counters", 4, 8, kKeys);
  const size_t n = cpus();
  std::map<uint32_t, uint64_t> truth;
  for (uint32_t key = 0; key < kKeys; ++key) {
    std::vector<uint64_t> per_cpu(n);
    for (size_t cpu = 0; cpu < n; ++cpu) {
      per_cpu[cpu] = (cpu + 1) * 1000 + key;
      truth[key] += per_cpu[cpu];
    }
    ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, per_cpu.data(), BPF_ANY), 0);
  }
  for (uint32_t key = 0; key < kKeys; ++key) {
    Result<uint64_t> sum = sum_percpu_u64(map.ref, key);
    ASSERT_TRUE(sum.is_ok()) << sum.message();
    EXPECT_EQ(*sum, truth[key]) << key;
  }
  Result<std::vector<uint64_t>> all = sum_percpu_u64_array(map.ref, kKeys);
  ASSERT_TRUE(all.is_ok()) << all.message();
  ASSERT_EQ(all->size(), kKeys);
  for (uint32_t key = 0; key < kKeys; ++key) EXPECT_EQ((*all)[key], truth[key]) << key;
  // A prefix of the array is read the same way.
  Result<std::vector<uint64_t>> first = sum_percpu_u64_array(map.ref, 3);
  ASSERT_TRUE(first.is_ok()) << first.message();
  EXPECT_EQ(*first, std::vector<uint64_t>({truth[0], truth[1], truth[2]}));
}

// 12-byte values: the kernel rounds each CPU's slot up to 16 bytes.
struct Triple {
  uint32_t a, b, c;
};

TEST_F(MapReaderTest, PerCpuValuesNotAMultipleOfEightBytes) {
  TestMap map = create_map(BPF_MAP_TYPE_PERCPU_HASH, "t_triples", 4, sizeof(Triple), 8);
  const size_t n = cpus();
  std::vector<unsigned char> raw(n * percpu_stride(sizeof(Triple)));
  for (size_t cpu = 0; cpu < n; ++cpu) {
    const Triple t{static_cast<uint32_t>(cpu), static_cast<uint32_t>(cpu * 2), 7};
    std::memcpy(raw.data() + cpu * 16, &t, sizeof t);
  }
  const uint32_t key = 5;
  ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, raw.data(), BPF_ANY), 0);
  Result<std::vector<Triple>> values = lookup_percpu<Triple>(map.ref, &key);
  ASSERT_TRUE(values.is_ok()) << values.message();
  ASSERT_EQ(values->size(), n);
  for (size_t cpu = 0; cpu < n; ++cpu) {
    EXPECT_EQ((*values)[cpu].a, cpu);
    EXPECT_EQ((*values)[cpu].b, cpu * 2);
    EXPECT_EQ((*values)[cpu].c, 7u);
  }
}

TEST_F(MapReaderTest, WalksAFullHashMapAndVisitsEveryEntryOnce) {
  constexpr uint32_t kCapacity = 300;
  TestMap map = create_map(BPF_MAP_TYPE_PERCPU_HASH, "t_full", 4, 8, kCapacity);
  const size_t n = cpus();
  std::map<uint32_t, uint64_t> truth;
  for (uint32_t i = 0; i < kCapacity; ++i) {
    const uint32_t key = i * 7919;
    std::vector<uint64_t> per_cpu(n, i + 1);
    ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, per_cpu.data(), BPF_NOEXIST), 0);
    truth[key] = (i + 1) * n;
  }
  Result<std::vector<uint32_t>> keys = map_keys<uint32_t>(map.ref);
  ASSERT_TRUE(keys.is_ok()) << keys.message();
  EXPECT_EQ(std::set<uint32_t>(keys->begin(), keys->end()).size(), kCapacity);

  std::map<uint32_t, uint64_t> seen;
  Status read = for_each_percpu_entry<uint32_t, uint64_t>(
      map.ref, [&](uint32_t key, const std::vector<uint64_t>& per_cpu) {
        EXPECT_EQ(per_cpu.size(), n);
        for (uint64_t v : per_cpu) seen[key] += v;
      });
  ASSERT_TRUE(read.is_ok()) << read.message();
  EXPECT_EQ(seen, truth);
}

// The bound is the capacity the reader is told: a walk that finds more keys
// than that stops and says so instead of returning a partial list.
TEST_F(MapReaderTest, WalkBeyondTheCapacityIsReported) {
  TestMap map = create_map(BPF_MAP_TYPE_HASH, "t_bound", 4, 8, 64);
  for (uint32_t key = 0; key < 20; ++key) {
    const uint64_t value = key;
    ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, &value, BPF_ANY), 0);
  }
  MapRef small = map.ref;
  small.max_entries = 19;
  Result<std::vector<uint32_t>> keys = map_keys<uint32_t>(small);
  ASSERT_FALSE(keys.is_ok());
  EXPECT_THAT(keys.message(), HasSubstr("t_bound"));
  EXPECT_THAT(keys.message(), HasSubstr("more than its 19 entries"));
  auto entries = read_entries<uint32_t, uint64_t>(small);
  ASSERT_FALSE(entries.is_ok());
  EXPECT_THAT(entries.message(), HasSubstr("more than its 19 entries"));
  small.max_entries = 20;  // exactly full is fine
  EXPECT_TRUE(map_keys<uint32_t>(small).is_ok());
  EXPECT_TRUE((read_entries<uint32_t, uint64_t>(small).is_ok()));
}

// Keys deleted and re-added during walks (an LRU under load): every walk
// ends, bounded, either with keys that exist or with the bound's error.
TEST_F(MapReaderTest, WalkWhileKeysChurnEnds) {
  TestMap map = create_map(BPF_MAP_TYPE_HASH, "t_churn", 4, 8, 128);
  for (uint32_t key = 0; key < 128; ++key) {
    const uint64_t value = 1;
    ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, &value, BPF_ANY), 0);
  }
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (uint32_t round = 0; round < 2000000 && !stop; ++round) {
      const uint32_t key = round % 128;
      const uint64_t value = 1;
      bpf_map_delete_elem(map.ref.fd, &key);
      bpf_map_update_elem(map.ref.fd, &key, &value, BPF_ANY);
    }
  });
  int failures = 0;
  for (int walk = 0; walk < 200; ++walk) {
    Result<std::vector<uint32_t>> keys = map_keys<uint32_t>(map.ref);
    if (keys) {
      EXPECT_LE(keys->size(), 128u);
      for (uint32_t key : *keys) EXPECT_LT(key, 128u);
    } else {
      ++failures;
      EXPECT_THAT(keys.message(), HasSubstr("keys changed during the walk"));
    }
  }
  stop = true;
  churn.join();
  RecordProperty("bound_errors", failures);
}

TEST_F(MapReaderTest, ReadsEveryEntryInBatches) {
  struct Key {
    uint32_t a;
    uint16_t b;
    uint16_t c;
  };
  TestMap map = create_map(BPF_MAP_TYPE_LRU_HASH, "t_entries", sizeof(Key), 8, 4096);
  std::map<std::pair<uint32_t, uint16_t>, uint64_t> truth;
  for (uint32_t i = 0; i < 2500; ++i) {  // more than one batch chunk
    const Key key{i, static_cast<uint16_t>(i % 9), 0};
    const uint64_t value = i * 3;
    ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, &value, BPF_ANY), 0);
    truth[{key.a, key.b}] = value;
  }
  auto entries = read_entries<Key, uint64_t>(map.ref);
  ASSERT_TRUE(entries.is_ok()) << entries.message();
  std::map<std::pair<uint32_t, uint16_t>, uint64_t> seen;
  for (const auto& [key, value] : *entries) seen[{key.a, key.b}] = value;
  EXPECT_EQ(seen, truth);
  EXPECT_EQ(entries->size(), truth.size());
}

// An LPM trie has no batch lookup: the reader falls back to a key walk.
TEST_F(MapReaderTest, ReadsEntriesKeyByKeyWithoutBatchSupport) {
  struct Prefix {
    uint32_t prefixlen;
    uint32_t addr;
  };
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t_trie", sizeof(Prefix), 8, 64, &opts);
  ASSERT_GE(fd, 0) << errno_message(errno);
  UniqueFd owner(fd);
  uint32_t count = 1;
  Prefix probe{};
  uint64_t probe_value = 0;
  ASSERT_NE(bpf_map_lookup_batch(fd, nullptr, &probe, &probe, &probe_value, &count, nullptr), 0)
      << "this kernel has batch lookups for LPM tries: the test no longer covers the fallback";
  std::map<uint32_t, uint64_t> truth;
  for (uint32_t i = 0; i < 50; ++i) {
    const Prefix key{32, 0x0A000000u + i};
    const uint64_t value = 100 + i;
    ASSERT_EQ(bpf_map_update_elem(fd, &key, &value, BPF_ANY), 0);
    truth[key.addr] = value;
  }
  auto entries = read_entries<Prefix, uint64_t>(MapRef{fd, "t_trie", 64, sizeof(Prefix), 8});
  ASSERT_TRUE(entries.is_ok()) << entries.message();
  std::map<uint32_t, uint64_t> seen;
  for (const auto& [key, value] : *entries) seen[key.addr] = value;
  EXPECT_EQ(seen, truth);
  auto bounded = read_entries<Prefix, uint64_t>(MapRef{fd, "t_trie", 49, sizeof(Prefix), 8});
  EXPECT_THAT(bounded.message(), HasSubstr("more than its 49 entries"));
}

TEST_F(MapReaderTest, FailedReadsNameTheMapAndTheError) {
  TestMap map = create_map(BPF_MAP_TYPE_HASH, "t_missing", 4, 8, 4);
  const uint32_t key = 1;
  uint64_t value = 0;
  Status missing = lookup_value(map.ref, &key, &value);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.message(),
            "reading BPF map t_missing failed: No such file or directory (ENOENT)");

  // A per-CPU lookup that may find nothing says so without failing.
  TestMap percpu = create_map(BPF_MAP_TYPE_PERCPU_HASH, "t_gone", 4, 8, 4);
  std::vector<unsigned char> raw;
  bool gone = false;
  EXPECT_TRUE(lookup_percpu_raw(percpu.ref, &key, raw, 8, &gone).is_ok());
  EXPECT_TRUE(gone);
  EXPECT_FALSE(lookup_percpu_raw(percpu.ref, &key, raw, 8).is_ok());

  // A closed fd: every kind of read fails with EBADF and the map's name.
  MapRef closed = map.ref;
  closed.fd = -1;
  closed.name = "t_closed";
  EXPECT_THAT(sum_percpu_u64(closed, 0).message(), HasSubstr("t_closed failed: Bad file"));
  EXPECT_THAT(sum_percpu_u64_array(closed, 4).message(), HasSubstr("(EBADF)"));
  EXPECT_THAT(map_keys<uint32_t>(closed).message(), HasSubstr("walking BPF map t_closed failed"));
  EXPECT_THAT((read_entries<uint32_t, uint64_t>(closed).message()), HasSubstr("(EBADF)"));
  EXPECT_THAT((for_each_percpu_entry<uint32_t, uint64_t>(closed, [](auto&&...) {}).message()),
              HasSubstr("t_closed"));
}

// A collector that reads a map through the shared reader: when the read
// fails, its scrape fails with the reason and adds no families.
class MapCollector : public Collector {
 public:
  explicit MapCollector(MapRef map) : Collector("maptest"), map_(std::move(map)) {}
  MapRef map_;

 protected:
  Status start_impl(const CollectorContext&) override { return Status::ok(); }
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override {
    FamilyBuilder before("netobs_maptest_before", "Added before the read.",
                         prometheus::MetricType::Gauge);
    before.gauge({}, 1).append_to(out);
    Result<std::vector<uint64_t>> counters = sum_percpu_u64_array(map_, 2);
    if (!counters) return counters.status();
    FamilyBuilder("netobs_maptest_total", "Sum.", prometheus::MetricType::Counter)
        .counter({}, static_cast<double>((*counters)[1]))
        .append_to(out);
    return Status::ok();
  }
  void stop_impl() override {}

 private:
};

TEST_F(MapReaderTest, FailedReadFailsTheCollectorsScrape) {
  TestMap map = create_map(BPF_MAP_TYPE_PERCPU_ARRAY, "t_scrape", 4, 8, 2);
  const uint32_t key = 1;
  std::vector<uint64_t> per_cpu(cpus(), 2);
  ASSERT_EQ(bpf_map_update_elem(map.ref.fd, &key, per_cpu.data(), BPF_ANY), 0);
  MapCollector collector(map.ref);
  Config config;
  PreflightReport preflight;
  ASSERT_TRUE(collector.start({config, preflight}).is_ok());
  std::vector<prometheus::MetricFamily> out;
  ASSERT_TRUE(collector.collect(out).is_ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].metric.at(0).counter.value, 2.0 * cpus());

  collector.map_.fd = -1;
  out.clear();
  Status failed = collector.collect(out);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_THAT(failed.message(), HasSubstr("reading BPF map t_scrape failed"));
  EXPECT_TRUE(out.empty()) << "a failed scrape adds nothing, not even what came before the read";
  collector.stop();
}

}  // namespace
}  // namespace netobs
