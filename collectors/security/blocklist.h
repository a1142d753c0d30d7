// Blocklist files: IPv4/IPv6 addresses and CIDRs, one per line, '#' starts
// a comment. A malformed line is reported with file:line and skipped; the
// rest load. Pure parsing plus a change check by stat; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "exporter/net/cidr.h"

namespace netobs {

struct BlocklistEntry {
  Cidr cidr;
  uint32_t list = 0;  // index of the file in the config's `blocklists`
  uint32_t line = 0;  // 1-based
};

struct Blocklists {
  std::vector<BlocklistEntry> entries;
  // "FILE:LINE: problem; fix", one per skipped line or unreadable file.
  std::vector<std::string> errors;
};

// Parses one file's text; `path` and `list` label its entries and errors.
void parse_blocklist(std::string_view text, const std::string& path, uint32_t list,
                     Blocklists& out);

// Reads and parses every file (an unreadable file is one error).
Blocklists load_blocklists(const std::vector<std::string>& paths);

// What a file looked like (identity and change time): a differing stamp
// means it must be read again. A missing file has a zero stamp.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_file(const std::string& path);
std::vector<FileStamp> stamp_files(const std::vector<std::string>& paths);

}  // namespace netobs
