#include "exporter/web/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstring>

namespace netobs::web {
namespace {

std::string go_errno_text(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace

Result<std::string> read_small_file(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::error("open " + path + ": " + go_errno_text(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0 || S_ISDIR(info.st_mode)) {
    int error = S_ISDIR(info.st_mode) ? EISDIR : errno;
    close(fd);
    return Status::error("read " + path + ": " + go_errno_text(error));
  }
  std::string text;
  char buffer[16384];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;  // O_NONBLOCK: a FIFO without data is an error
    if (n < 0) {
      int error = errno;
      close(fd);
      return Status::error("read " + path + ": " + go_errno_text(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      close(fd);
      return Status::error("read " + path + ": file is larger than " + std::to_string(max_bytes) +
                           " bytes");
    }
  }
  close(fd);
  return text;
}

}  // namespace netobs::web
