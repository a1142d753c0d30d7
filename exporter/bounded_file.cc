#include "exporter/bounded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "exporter/errno_name.h"

namespace netobs {
namespace {

const char* kProcfsFix = ": --path.procfs must point at a mounted procfs (default /proc)";

std::string_view file_type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

}  // namespace

Status check_regular_file(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::error(path + ": " + errno_message(errno));
  if (S_ISREG(st.st_mode)) return Status::ok();
  return Status::error(path + " is " + std::string(file_type_name(st.st_mode)) +
                       ", not a regular file" + kProcfsFix);
}

Result<int> open_proc_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of
  // waiting for one; the type check below then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    Status status = Status::error(path + ": " + errno_message(err));
    errno = err;
    return status;
  }
  Status regular = check_regular_file(fd, path);
  if (!regular.is_ok()) {
    ::close(fd);
    errno = EINVAL;
    return regular;
  }
  return fd;
}

Status read_proc_fd(int fd, const std::string& path, std::string& out, size_t max_bytes) {
  // procfs reports size 0: read from offset 0 until EOF, one byte past the
  // cap at most, so a larger (or endlessly growing) file is seen and refused.
  out.resize(std::min<size_t>(max_bytes + 1, 16384));
  size_t size = 0;
  while (true) {
    if (size == out.size()) {
      if (size > max_bytes) break;
      out.resize(std::min(out.size() * 2, max_bytes + 1));
    }
    const ssize_t n = ::pread(fd, out.data() + size, out.size() - size, static_cast<off_t>(size));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      out.clear();
      errno = err;
      return Status::error(path + ": " + errno_message(err));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  if (size > max_bytes) {
    out.clear();
    errno = EFBIG;
    return Status::error(path + " is larger than " + std::to_string(max_bytes) + " bytes" +
                         kProcfsFix);
  }
  out.resize(size);
  return Status::ok();
}

Status read_proc_file(const std::string& path, std::string& out, size_t max_bytes) {
  Result<int> fd = open_proc_file(path);
  if (!fd) {
    out.clear();
    return fd.status();
  }
  Status status = read_proc_fd(*fd, path, out, max_bytes);
  const int err = errno;
  ::close(*fd);
  errno = err;
  return status;
}

}  // namespace netobs
