#include "collectors/security/blocklist.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "exporter/errno_name.h"

namespace netobs {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

void parse_blocklist(std::string_view text, const std::string& path, uint32_t list,
                     Blocklists& out) {
  uint32_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;
    // Hosts in blocklists often carry stray host bits ("10.1.2.3/8"): the
    // network they name is meant, so they are cleared, not refused.
    Result<Cidr> cidr = parse_cidr(line, /*strict=*/false);
    if (!cidr) {
      out.errors.push_back(path + ":" + std::to_string(line_number) + ": " +
                           cidr.status().message() +
                           "; write one IPv4 or IPv6 address or CIDR per line (skipped)");
      continue;
    }
    out.entries.push_back({.cidr = *cidr, .list = list, .line = line_number});
  }
}

Blocklists load_blocklists(const std::vector<std::string>& paths) {
  Blocklists out;
  for (uint32_t list = 0; list < paths.size(); ++list) {
    std::ifstream in(paths[list], std::ios::binary);
    if (!in) {
      const int err = errno;
      out.errors.push_back(paths[list] + ": cannot read: " + errno_message(err) +
                           "; fix the path in blocklists (it is checked again when it changes)");
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    parse_blocklist(text.str(), paths[list], list, out);
  }
  return out;
}

FileStamp stamp_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {.device = st.st_dev,
          .inode = st.st_ino,
          .size = st.st_size,
          .mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

std::vector<FileStamp> stamp_files(const std::vector<std::string>& paths) {
  std::vector<FileStamp> out;
  out.reserve(paths.size());
  for (const std::string& path : paths) out.push_back(stamp_file(path));
  return out;
}

}  // namespace netobs
