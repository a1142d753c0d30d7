// RAII owners for libbpf objects: generated skeletons, bpf_objects, bpf_links
// and plain kernel fds. Whoever holds the pointer owns the kernel object;
// destroying it detaches/unloads. Not thread-safe by themselves.
#pragma once

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <utility>

namespace netobs {

// Skeletons from `bpftool gen skeleton` (v7+) carry C++ static members
// `open()` and `destroy()`; the deleter uses the latter.
template <typename Skel>
struct SkeletonDeleter {
  void operator()(Skel* skel) const { Skel::destroy(skel); }
};
template <typename Skel>
using SkeletonPtr = std::unique_ptr<Skel, SkeletonDeleter<Skel>>;

// The BPF ELF objects skeletons embed in the binary (~1.9 MiB in all) are
// read only while a skeleton opens and loads, yet their pages then stay in
// the process's RSS. open_skeleton notes each one; release_skeleton_bytes()
// (after start and after each reload) drops those pages from the process
// (MADV_DONTNEED on read-only file pages: a later load reads them again
// from the binary).
void note_skeleton_bytes(const void* data, size_t size);
void release_skeleton_bytes();

// Every skeleton open_skeleton is compiled for notes its bytes at program
// start, opened or not: the kernel maps the 64 KiB around each fault, so
// other read-only data next to them pulls in pages of the objects of
// collectors that are off as well (~0.9 MiB with no collector at all).
template <typename Skel>
struct SkeletonBytesNote {
  static inline const bool kNoted = [] {
    size_t size = 0;
    const void* data = Skel::elf_bytes(&size);
    note_skeleton_bytes(data, size);
    return true;
  }();
};

// Opens a fresh skeleton (not loaded); null with errno set on failure.
template <typename Skel>
SkeletonPtr<Skel> open_skeleton(const bpf_object_open_opts* opts = nullptr) {
  static_cast<void>(SkeletonBytesNote<Skel>::kNoted);
  size_t size = 0;
  const void* data = Skel::elf_bytes(&size);
  note_skeleton_bytes(data, size);
  return SkeletonPtr<Skel>(Skel::open(opts));
}

struct LinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

struct ObjectDeleter {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectDeleter>;

// A file descriptor closed on destruction (probe programs, stats fds).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace netobs
