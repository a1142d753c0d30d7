#include "collectors/snmp/proc_net_parser.h"

#include "collectors/snmp/field_types.h"
#include "exporter/bounded_file.h"
#include "exporter/errno_name.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>

namespace netobs {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Splits on runs of blanks; appends to `tokens` (cleared first).
void split_tokens(std::string_view text, std::vector<std::string_view>& tokens) {
  tokens.clear();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) tokens.push_back(text.substr(start, i - start));
  }
}

// Calls `fn(line_number, line)` for each '\n'-separated line.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  int line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    ++line_number;
    fn(line_number, line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Records at most one error per line: the first problem found on it.
class LineErrors {
 public:
  LineErrors(ProcNetFile file, int line, ParseResult& out) : file_(file), line_(line), out_(out) {}
  void add(ParseErrorKind kind, std::string detail) {
    if (recorded_) return;
    recorded_ = true;
    out_.add_error({file_, kind, line_, std::move(detail)});
  }

 private:
  ProcNetFile file_;
  int line_;
  ParseResult& out_;
  bool recorded_ = false;
};

std::string clip(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string s(text.substr(0, kMax));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  if (text.size() > kMax) s += "...";
  return s;
}

// Parses one value and appends the entry, or records why not.
void add_entry(std::string_view group, std::string_view field, std::string_view value_text,
               ProcNetFile file, LineErrors& errors, ParseResult& out) {
  if (!is_valid_name(field)) {
    errors.add(ParseErrorKind::kInvalidName, "field name \"" + clip(field) + "\"");
    return;
  }
  MibValue value;
  bool out_of_range = false;
  if (!parse_mib_value(value_text, value, out_of_range)) {
    errors.add(out_of_range ? ParseErrorKind::kOutOfRange : ParseErrorKind::kInvalidNumber,
               std::string(group) + "." + std::string(field) + " = \"" + clip(value_text) + "\"");
    return;
  }
  if (out.entries.size() >= kMaxMibEntries) {
    errors.add(ParseErrorKind::kMalformedLine,
               "more than " + std::to_string(kMaxMibEntries) + " counters in all");
    return;
  }
  out.entries.push_back({std::string(group), std::string(field), value, file});
}

}  // namespace

void ParseResult::add_error(ParseError error) {
  const auto file = static_cast<size_t>(error.file);
  if (recorded_errors[file] >= kMaxRecordedParseErrors) {
    ++unrecorded_errors[file];
    return;
  }
  ++recorded_errors[file];
  errors.push_back(std::move(error));
}

std::string_view proc_net_file_name(ProcNetFile file) {
  switch (file) {
    case ProcNetFile::kSnmp:
      return "snmp";
    case ProcNetFile::kNetstat:
      return "netstat";
    case ProcNetFile::kSnmp6:
      return "snmp6";
  }
  return "unknown";
}

std::string_view parse_error_kind_name(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::kUnreadable:
      return "unreadable";
    case ParseErrorKind::kMalformedLine:
      return "malformed_line";
    case ParseErrorKind::kMissingValues:
      return "missing_values";
    case ParseErrorKind::kCountMismatch:
      return "count_mismatch";
    case ParseErrorKind::kInvalidNumber:
      return "invalid_number";
    case ParseErrorKind::kOutOfRange:
      return "out_of_range";
    case ParseErrorKind::kInvalidName:
      return "invalid_name";
    case ParseErrorKind::kDuplicate:
      return "duplicate";
    case ParseErrorKind::kNegativeCounter:
      return "negative_counter";
  }
  return "unknown";
}

double MibValue::as_double() const {
  return negative ? static_cast<double>(static_cast<int64_t>(bits)) : static_cast<double>(bits);
}

std::string MibValue::to_string() const {
  return negative ? std::to_string(static_cast<int64_t>(bits)) : std::to_string(bits);
}

bool parse_mib_value(std::string_view text, MibValue& value, bool& out_of_range) {
  out_of_range = false;
  bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty()) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (ec == std::errc::result_out_of_range) {
    out_of_range = true;
    return false;
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return false;
  if (!negative) {
    value = MibValue::from_unsigned(magnitude);
    return true;
  }
  // |INT64_MIN| is the largest magnitude a signed value can have.
  constexpr uint64_t kMaxNegative = uint64_t{1} << 63;
  if (magnitude > kMaxNegative) {
    out_of_range = true;
    return false;
  }
  if (magnitude == 0) {
    value = MibValue::from_unsigned(0);  // "-0" is zero, not a signed value
    return true;
  }
  value = {~magnitude + 1, true};
  return true;
}

void parse_header_value_text(std::string_view text, ProcNetFile file, ParseResult& out) {
  struct Pending {
    std::string_view group;
    std::string_view names;
    int line = 0;
  };
  std::optional<Pending> pending;
  std::vector<std::string_view> names;
  std::vector<std::string_view> values;

  for_each_line(text, [&](int line_number, std::string_view raw) {
    std::string_view line = trim(raw);
    if (line.empty()) return;
    LineErrors errors(file, line_number, out);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      errors.add(ParseErrorKind::kMalformedLine, "no \"Group:\" prefix: \"" + clip(line) + "\"");
      pending.reset();  // whatever this was, the pair it belonged to is broken
      return;
    }
    std::string_view group = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    if (!pending || pending->group != group) {
      if (pending) {
        out.add_error({file, ParseErrorKind::kMissingValues, pending->line,
                       "\"" + clip(pending->group) + ":\" header without a value line"});
      }
      pending = Pending{group, rest, line_number};
      return;
    }
    // This is the value line of the pending header.
    Pending header = *pending;
    pending.reset();
    if (!is_valid_name(group)) {
      errors.add(ParseErrorKind::kInvalidName, "group name \"" + clip(group) + "\"");
      return;
    }
    split_tokens(header.names, names);
    split_tokens(rest, values);
    if (names.size() > kMaxMibFieldsPerLine || values.size() > kMaxMibFieldsPerLine) {
      errors.add(ParseErrorKind::kMalformedLine, std::string(clip(group)) + ": more than " +
                                                     std::to_string(kMaxMibFieldsPerLine) +
                                                     " fields on a line");
      return;
    }
    if (names.size() != values.size()) {
      errors.add(ParseErrorKind::kCountMismatch, std::string(group) + ": " +
                                                     std::to_string(names.size()) + " names but " +
                                                     std::to_string(values.size()) + " values");
      return;
    }
    for (size_t i = 0; i < names.size(); ++i)
      add_entry(group, names[i], values[i], file, errors, out);
  });
  if (pending) {
    out.add_error({file, ParseErrorKind::kMissingValues, pending->line,
                   "\"" + clip(pending->group) + ":\" header without a value line"});
  }
}

std::pair<std::string_view, std::string_view> split_snmp6_key(std::string_view key) {
  size_t i = 0;
  while (i < key.size() && !(key[i] >= '0' && key[i] <= '9')) ++i;
  while (i < key.size() && key[i] >= '0' && key[i] <= '9') ++i;
  if (i == 0 || i >= key.size()) return {key, {}};
  return {key.substr(0, i), key.substr(i)};
}

void parse_key_value_text(std::string_view text, ProcNetFile file, ParseResult& out) {
  std::vector<std::string_view> tokens;
  for_each_line(text, [&](int line_number, std::string_view raw) {
    std::string_view line = trim(raw);
    if (line.empty()) return;
    LineErrors errors(file, line_number, out);
    split_tokens(line, tokens);
    if (tokens.size() != 2) {
      errors.add(ParseErrorKind::kMalformedLine, "expected \"key value\": \"" + clip(line) + "\"");
      return;
    }
    auto [group, field] = split_snmp6_key(tokens[0]);
    if (field.empty() || !is_valid_name(group)) {
      errors.add(ParseErrorKind::kInvalidName, "key \"" + clip(tokens[0]) + "\"");
      return;
    }
    add_entry(group, field, tokens[1], file, errors, out);
  });
}

void parse_proc_net_text(ProcNetFile file, std::string_view text, ParseResult& out) {
  if (file == ProcNetFile::kSnmp6) {
    parse_key_value_text(text, file, out);
  } else {
    parse_header_value_text(text, file, out);
  }
}

namespace {

uint64_t hash_name(std::string_view group, std::string_view field) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (char c : group) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  hash = (hash ^ '.') * 1099511628211ull;
  for (char c : field) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return hash;
}

}  // namespace

void drop_duplicate_entries(ParseResult& result) {
  std::vector<MibEntry>& entries = result.entries;
  if (entries.size() < 2) return;
  // Open addressing over entry indexes: no allocation per entry (this runs on
  // every scrape; a std::unordered_set<std::string> was half the parse time).
  size_t capacity = 16;
  while (capacity < entries.size() * 2) capacity <<= 1;
  std::vector<uint32_t> slots(capacity, 0);  // entry index + 1; 0 = empty
  std::vector<bool> duplicate(entries.size(), false);
  bool any = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t slot = hash_name(entries[i].group, entries[i].field) & (capacity - 1);
    while (slots[slot] != 0) {
      const MibEntry& other = entries[slots[slot] - 1];
      if (other.field == entries[i].field && other.group == entries[i].group) {
        duplicate[i] = true;
        any = true;
        break;
      }
      slot = (slot + 1) & (capacity - 1);
    }
    if (!duplicate[i]) slots[slot] = static_cast<uint32_t>(i + 1);
  }
  if (!any) return;
  size_t kept = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (duplicate[i]) {
      result.add_error({entries[i].file, ParseErrorKind::kDuplicate, 0,
                        entries[i].group + "." + entries[i].field + " seen twice"});
      continue;
    }
    if (kept != i) entries[kept] = std::move(entries[i]);
    ++kept;
  }
  entries.resize(kept);
}

void drop_negative_counters(ParseResult& result) {
  size_t kept = 0;
  for (size_t i = 0; i < result.entries.size(); ++i) {
    MibEntry& entry = result.entries[i];
    if (entry.value.negative && mib_field_type(entry.group, entry.field) == MibType::kCounter) {
      result.add_error({entry.file, ParseErrorKind::kNegativeCounter, 0,
                        entry.group + "." + entry.field + " = " + entry.value.to_string()});
      continue;
    }
    if (kept != i) result.entries[kept] = std::move(entry);
    ++kept;
  }
  result.entries.resize(kept);
}

bool read_small_file(const std::string& path, std::string& contents) {
  return read_proc_file(path, contents).is_ok();  // errno tells why not
}

namespace {

void count_errors(MibSnapshot& snapshot, size_t first_error) {
  for (size_t i = first_error; i < snapshot.parsed.errors.size(); ++i) {
    ++snapshot.errors_per_file[static_cast<size_t>(snapshot.parsed.errors[i].file)];
  }
  for (size_t i = 0; i < snapshot.errors_per_file.size(); ++i) {
    snapshot.errors_per_file[i] += snapshot.parsed.unrecorded_errors[i];
  }
}

}  // namespace

MibSnapshot parse_mib_texts(std::string_view snmp, std::string_view netstat, std::string_view snmp6,
                            bool snmp6_present) {
  MibSnapshot snapshot;
  snapshot.parsed.entries.reserve(512);
  parse_proc_net_text(ProcNetFile::kSnmp, snmp, snapshot.parsed);
  parse_proc_net_text(ProcNetFile::kNetstat, netstat, snapshot.parsed);
  if (snmp6_present) parse_proc_net_text(ProcNetFile::kSnmp6, snmp6, snapshot.parsed);
  snapshot.snmp6_present = snmp6_present;
  drop_duplicate_entries(snapshot.parsed);
  drop_negative_counters(snapshot.parsed);
  count_errors(snapshot, 0);
  return snapshot;
}

MibSnapshot read_mib_snapshot(const std::string& procfs) { return ProcNetReader(procfs).read(); }

ProcNetReader::ProcNetReader(std::string procfs) : procfs_(std::move(procfs)) {
  buffer_.resize(16384);
}

ProcNetReader::~ProcNetReader() {
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

bool ProcNetReader::read_file(ProcNetFile file, std::string_view& text, std::string& refused) {
  // The previous file's text (in buffer_) has been parsed: do not keep a
  // hostile file's megabyte around.
  if (buffer_.size() > (size_t{256} << 10)) {
    buffer_.resize(16384);
    buffer_.shrink_to_fit();
  }
  int& kept = fds_[static_cast<size_t>(file)];
  int fd = kept;
  if (fd < 0) {
    const std::string path = procfs_ + "/net/" + std::string(proc_net_file_name(file));
    // Non-blocking, so a FIFO there cannot hang the scrape; only regular files.
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return false;
    Status regular = check_regular_file(fd, path);
    if (!regular.is_ok()) {
      ::close(fd);
      refused = regular.message();
      errno = EINVAL;
      return false;
    }
    struct statfs fs {};
    if (::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC) kept = fd;
  }
  // procfs reports size 0: read from offset 0 into a buffer that grows until
  // the text fits (a short read is the whole text). A file that fills
  // kMaxProcFileBytes is not what procfs prints, or still grows: refused.
  bool ok = true;
  size_t size = 0;
  while (true) {
    ssize_t n = ::pread(fd, buffer_.data(), buffer_.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = false;
      break;
    }
    size = static_cast<size_t>(n);
    if (size < buffer_.size()) break;
    if (buffer_.size() >= kMaxProcFileBytes) {
      ok = false;
      refused = procfs_ + "/net/" + std::string(proc_net_file_name(file)) + " is larger than " +
                std::to_string(kMaxProcFileBytes) +
                " bytes: --path.procfs must point at a mounted procfs (default /proc)";
      errno = EFBIG;
      break;
    }
    buffer_.resize(std::min(buffer_.size() * 2, kMaxProcFileBytes));
  }
  const int saved_errno = errno;
  if (!ok || fd != kept) {
    ::close(fd);
    if (fd == kept) kept = -1;  // reopen next time
  }
  errno = saved_errno;
  text = std::string_view(buffer_.data(), ok ? size : 0);
  return ok;
}

MibSnapshot ProcNetReader::read() {
  MibSnapshot snapshot;
  snapshot.parsed.entries.reserve(512);
  for (ProcNetFile file : kProcNetFiles) {
    std::string_view text;
    std::string refused;
    if (!read_file(file, text, refused)) {
      int saved_errno = errno;
      if (!refused.empty()) {
        if (!snapshot.refused.empty()) snapshot.refused += "; ";
        snapshot.refused += refused;
      }
      if (file == ProcNetFile::kSnmp6 && saved_errno == ENOENT) continue;  // IPv6 disabled
      snapshot.parsed.add_error({file, ParseErrorKind::kUnreadable, 0,
                                 !refused.empty()
                                     ? refused
                                     : procfs_ + "/net/" + std::string(proc_net_file_name(file)) +
                                           ": " + errno_text(saved_errno)});
      continue;
    }
    if (file == ProcNetFile::kSnmp6) snapshot.snmp6_present = true;
    parse_proc_net_text(file, text, snapshot.parsed);
  }
  drop_duplicate_entries(snapshot.parsed);
  drop_negative_counters(snapshot.parsed);
  count_errors(snapshot, 0);
  return snapshot;
}

}  // namespace netobs
