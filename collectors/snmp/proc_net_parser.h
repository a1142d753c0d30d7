// Parsers for the kernel's SNMP counter files: /proc/net/snmp and
// /proc/net/netstat (pairs of "Group: names" / "Group: values" lines) and
// /proc/net/snmp6 ("Ip6InReceives  12" key/value lines). Pure functions over
// text, no I/O except read_mib_snapshot(); any thread may call them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netobs {

// The three files, in the order they are read and rendered.
enum class ProcNetFile { kSnmp = 0, kNetstat = 1, kSnmp6 = 2 };
inline constexpr std::array<ProcNetFile, 3> kProcNetFiles = {
    ProcNetFile::kSnmp, ProcNetFile::kNetstat, ProcNetFile::kSnmp6};

// "snmp", "netstat", "snmp6": the file's name under <procfs>/net/ and the
// `file` label of the parse-error counter.
std::string_view proc_net_file_name(ProcNetFile file);

// One value as the kernel printed it. Almost all are unsigned 64-bit
// counters; a few are signed (Tcp MaxConn is -1 on Linux).
struct MibValue {
  uint64_t bits = 0;      // the value; two's complement when `negative`
  bool negative = false;  // printed with a leading '-'

  static MibValue from_unsigned(uint64_t value) { return {value, false}; }
  int64_t as_signed() const { return static_cast<int64_t>(bits); }
  // Exact up to 2^53; beyond that the nearest double (relative error < 1.2e-16).
  double as_double() const;
  std::string to_string() const;
  bool operator==(const MibValue&) const = default;
};

struct MibEntry {
  std::string group;  // "Tcp", "TcpExt", "Ip6", ...
  std::string field;  // "RetransSegs", "InReceives", ...
  MibValue value;
  ProcNetFile file = ProcNetFile::kSnmp;
};

enum class ParseErrorKind {
  kUnreadable,       // the file is missing or cannot be read
  kMalformedLine,    // no "Group:" prefix, or not "key value" in snmp6
  kMissingValues,    // a header line not followed by its value line (truncated file)
  kCountMismatch,    // header and value lines have different numbers of fields
  kInvalidNumber,    // a value that is not a decimal integer
  kOutOfRange,       // a value that does not fit in 64 bits
  kInvalidName,      // a group or field name with characters outside [A-Za-z0-9_]
  kDuplicate,        // the same group and field seen twice
  kNegativeCounter,  // a negative value for a field typed as a counter
};
inline constexpr size_t kParseErrorKindCount = 9;
std::string_view parse_error_kind_name(ParseErrorKind kind);

// One bad line. `line` is 1-based; 0 for a whole-file problem.
struct ParseError {
  ProcNetFile file = ProcNetFile::kSnmp;
  ParseErrorKind kind = ParseErrorKind::kMalformedLine;
  int line = 0;
  std::string detail;
};

// Bounds on what a hostile file can make the parser hold: the kernel prints
// about 450 counters on lines of at most ~130 fields.
inline constexpr size_t kMaxMibFieldsPerLine = 1024;
inline constexpr size_t kMaxMibEntries = 8192;
inline constexpr size_t kMaxRecordedParseErrors = 64;  // per file; the rest are only counted

struct ParseResult {
  std::vector<MibEntry> entries;
  std::vector<ParseError> errors;  // at most one per line, kMaxRecordedParseErrors per file
  std::array<uint64_t, 3> unrecorded_errors{};  // errors beyond that, by ProcNetFile
  std::array<size_t, 3> recorded_errors{};      // errors in `errors`, by ProcNetFile

  void add_error(ParseError error);
};

// Parses "Group: a b c" / "Group: 1 2 3" line pairs (/proc/net/snmp, netstat).
// A pair with a count mismatch is skipped whole; a bad value skips its field.
void parse_header_value_text(std::string_view text, ProcNetFile file, ParseResult& out);
// Parses "Ip6InReceives   12" lines (/proc/net/snmp6). The group is the key up
// to the end of its first run of digits ("Icmp6", "UdpLite6"); the rest is the field.
void parse_key_value_text(std::string_view text, ProcNetFile file, ParseResult& out);
// Dispatches on the file's format.
void parse_proc_net_text(ProcNetFile file, std::string_view text, ParseResult& out);

// Splits an snmp6 key into group and field; the field is empty when the key
// has no digit run followed by a name (then the whole key is the group).
std::pair<std::string_view, std::string_view> split_snmp6_key(std::string_view key);

// Parses a decimal value ("123", "-1"); false when it is not one (`out_of_range`
// tells why: the digits are fine but the value does not fit).
bool parse_mib_value(std::string_view text, MibValue& value, bool& out_of_range);

// Removes later entries whose (group, field) was already seen; one kDuplicate
// error per removed entry (line 0: entries do not remember their line).
void drop_duplicate_entries(ParseResult& result);

// Removes negative values of fields typed as counters (field_types.h); one
// kNegativeCounter error each.
void drop_negative_counters(ParseResult& result);

// All three files parsed from `procfs` (e.g. "/proc"), duplicates and negative
// counters removed. A missing snmp6 (IPv6 disabled) is not an error; a missing
// snmp or netstat is one kUnreadable error.
struct MibSnapshot {
  ParseResult parsed;
  std::array<uint64_t, 3> errors_per_file{};  // indexed by ProcNetFile
  bool snmp6_present = false;
  // Why a file was not read at all when it is not what procfs serves (a FIFO,
  // a device, a file above kMaxProcFileBytes): the collector fails the scrape
  // with it. Empty when every file was a regular, bounded file.
  std::string refused;
};
MibSnapshot read_mib_snapshot(const std::string& procfs);
// Parses three texts as if read from a procfs (fuzzing, tests, benchmarks).
MibSnapshot parse_mib_texts(std::string_view snmp, std::string_view netstat, std::string_view snmp6,
                            bool snmp6_present = true);

// Reads a whole small file; false when it cannot be opened or read.
bool read_small_file(const std::string& path, std::string& contents);

// read_mib_snapshot() for repeated reads (the collector's scrapes and
// sampler): keeps each file of a real procfs open and re-reads it with one
// pread at offset 0. The kernel prints the text anew on every read from
// offset 0, so values are exactly as fresh as with open/read/close; an open
// file also keeps its seq_file buffer, which the kernel otherwise grows from
// 4 KiB on each open, printing /proc/net/netstat (4.1 KB on 6.18) twice. Half
// the cost of reading the three files. Files outside procfs (fixtures) are
// opened on each read, so a replaced fixture is seen. Not thread-safe: one
// reader per thread, or a lock.
class ProcNetReader {
 public:
  explicit ProcNetReader(std::string procfs);
  ~ProcNetReader();
  ProcNetReader(const ProcNetReader&) = delete;
  ProcNetReader& operator=(const ProcNetReader&) = delete;

  MibSnapshot read();

 private:
  // The file's whole text in buffer_; false with errno set when unreadable,
  // and `refused` saying why when the file is not what procfs serves.
  bool read_file(ProcNetFile file, std::string_view& text, std::string& refused);

  std::string procfs_;
  std::array<int, 3> fds_{-1, -1, -1};  // open procfs files, by ProcNetFile
  std::vector<char> buffer_;
};

}  // namespace netobs
