// The benchmarks' empty baseline programs (bench_baseline.bpf.c): loads only
// the named ones, so each benchmark pays for the hooks it compares against.
#pragma once

#include <bpf/libbpf.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bench_baseline.skel.h"
#include "exporter/bpf/skeleton.h"

namespace netobs {

// The bench-only object with only `names` loaded (not attached); null on failure.
inline SkeletonPtr<bench_baseline_bpf> load_baselines(const std::vector<std::string>& names) {
  SkeletonPtr<bench_baseline_bpf> skel = open_skeleton<bench_baseline_bpf>();
  if (!skel) return skel;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    bpf_program__set_autoload(
        prog, std::find(names.begin(), names.end(), bpf_program__name(prog)) != names.end());
  }
  if (bench_baseline_bpf::load(skel.get()) != 0) skel.reset();
  return skel;
}

// The loaded baseline called `name`; null when it is not in the object.
inline bpf_program* baseline_program(const bench_baseline_bpf& skel, const std::string& name) {
  return bpf_object__find_program_by_name(skel.obj, name.c_str());
}

}  // namespace netobs
