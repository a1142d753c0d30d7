#include "exporter/events/event_sink.h"

#include "exporter/errno_name.h"
#include "exporter/json_writer.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace netobs {
namespace {

bool needs_csv_quotes(std::string_view value) {
  return value.find_first_of(",\"\r\n") != std::string_view::npos;
}

void append_csv_cell(std::string& out, std::string_view value) {
  if (!needs_csv_quotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

bool is_decimal_integer(std::string_view value) {
  size_t i = (!value.empty() && value[0] == '-') ? 1 : 0;
  if (i == value.size()) return false;
  for (; i < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') return false;
  }
  return true;
}

}  // namespace

Result<EventFormat> parse_event_format(std::string_view text) {
  if (text == "csv") return EventFormat::kCsv;
  if (text == "json") return EventFormat::kJson;
  return Status::error("unknown event format \"" + std::string(text) + "\": use csv or json");
}

std::string_view event_format_extension(EventFormat format) {
  return format == EventFormat::kCsv ? "csv" : "jsonl";
}

std::string format_csv_header(const EventSchema& schema) {
  std::string out;
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    if (i > 0) out += ',';
    append_csv_cell(out, schema.fields[i].csv_name);
  }
  out += '\n';
  return out;
}

std::string format_csv_row(const EventSchema& schema, const EventRow& row) {
  std::string out;
  out.reserve(160);
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    if (i > 0) out += ',';
    if (i < row.size()) append_csv_cell(out, row[i]);
  }
  out += '\n';
  return out;
}

std::string format_json_line(const EventSchema& schema, const EventRow& row) {
  std::string out;
  out.reserve(300);
  out += '{';
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, schema.fields[i].json_name);
    out += ':';
    const std::string_view value = i < row.size() ? std::string_view(row[i]) : std::string_view();
    if (value.empty()) {
      out += "null";
    } else if (schema.fields[i].type == EventFieldType::kInteger && is_decimal_integer(value)) {
      out += value;
    } else {
      append_json_string(out, value);
    }
  }
  out += "}\n";
  return out;
}

std::string format_event(EventFormat format, const EventSchema& schema, const EventRow& row) {
  return format == EventFormat::kCsv ? format_csv_row(schema, row) : format_json_line(schema, row);
}

// ---- StreamEventSink ----

StreamEventSink::StreamEventSink(std::ostream& out, EventFormat format, EventSchema schema)
    : out_(out), format_(format), schema_(std::move(schema)) {}

Status StreamEventSink::write(const EventRow& row) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!header_written_ && format_ == EventFormat::kCsv) out_ << format_csv_header(schema_);
  header_written_ = true;
  out_ << format_event(format_, schema_, row);
  if (!out_) return Status::error("writing an event to the output stream failed");
  ++rows_;
  return Status::ok();
}

Status StreamEventSink::write_line(std::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line;
  if (!out_) return Status::error("writing an event to the output stream failed");
  ++rows_;
  return Status::ok();
}

Status StreamEventSink::flush(bool /*durable*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  out_.flush();
  return out_ ? Status::ok() : Status::error("flushing the event output stream failed");
}

uint64_t StreamEventSink::rows_written() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rows_;
}

// ---- RotatingFileEventSink ----

RotatingFileEventSink::RotatingFileEventSink(Options options, EventSchema schema)
    : options_(std::move(options)), schema_(std::move(schema)) {}

Result<std::unique_ptr<RotatingFileEventSink>> RotatingFileEventSink::open(Options options,
                                                                           EventSchema schema) {
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  if (ec) {
    return Status::error("cannot create event directory " + options.directory + ": " +
                         ec.message() + " (check events.output_dir and its permissions)");
  }
  std::unique_ptr<RotatingFileEventSink> sink(
      new RotatingFileEventSink(std::move(options), std::move(schema)));
  std::lock_guard<std::mutex> lock(sink->mutex_);
  Status status = sink->open_next_locked();
  if (!status) return status;
  return sink;
}

RotatingFileEventSink::~RotatingFileEventSink() {
  std::lock_guard<std::mutex> lock(mutex_);
  (void)close_current_locked();
}

Status RotatingFileEventSink::open_next_locked() {
  char name[64];
  std::snprintf(name, sizeof(name), "%s_%06zu.%s", schema_.kind.c_str(), files_.size() + 1,
                std::string(event_format_extension(options_.format)).c_str());
  const std::string path = options_.directory + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    return Status::error("cannot create event file " + path + ": " + errno_text(err));
  }
  file_ = fdopen(fd, "w");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    return Status::error("cannot open event file " + path + ": " + errno_text(err));
  }
  // Rows go out in one fwrite each; a large buffer keeps syscalls rare.
  setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  files_.push_back(path);
  file_bytes_ = 0;
  file_rows_ = 0;
  if (options_.format == EventFormat::kCsv) {
    const std::string header = format_csv_header(schema_);
    if (std::fwrite(header.data(), 1, header.size(), file_) != header.size()) {
      return Status::error("writing the header of " + path + " failed: " + errno_text(errno));
    }
    file_bytes_ += header.size();
  }
  return Status::ok();
}

Status RotatingFileEventSink::close_current_locked() {
  if (file_ == nullptr) return Status::ok();
  Status status;
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
    status = Status::error("flushing " + files_.back() + " failed: " + errno_text(errno));
  }
  if (std::fclose(file_) != 0 && status) {
    status = Status::error("closing " + files_.back() + " failed: " + errno_text(errno));
  }
  file_ = nullptr;
  return status;
}

Status RotatingFileEventSink::write(const EventRow& row) {
  return write_line(format_event(options_.format, schema_, row));
}

Status RotatingFileEventSink::write_line(std::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (file_ == nullptr) return Status::error("event file is closed");
  // A row larger than rotate_bytes still goes into a file of its own.
  if (options_.rotate_bytes > 0 && file_rows_ > 0 &&
      file_bytes_ + line.size() > options_.rotate_bytes) {
    Status closed = close_current_locked();
    Status opened = open_next_locked();
    if (!opened) return opened;
    if (!closed) return closed;
  }
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
    return Status::error("writing to " + files_.back() + " failed: " + errno_text(errno));
  }
  file_bytes_ += line.size();
  ++file_rows_;
  ++rows_;
  return Status::ok();
}

Status RotatingFileEventSink::flush(bool durable) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (file_ == nullptr) return Status::ok();
  if (std::fflush(file_) != 0) {
    return Status::error("flushing " + files_.back() + " failed: " + errno_text(errno));
  }
  if (durable && ::fsync(fileno(file_)) != 0) {
    return Status::error("fsync of " + files_.back() + " failed: " + errno_text(errno));
  }
  return Status::ok();
}

uint64_t RotatingFileEventSink::rows_written() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rows_;
}

std::vector<std::string> RotatingFileEventSink::files() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return files_;
}

// ---- layout ----

Result<std::string> event_run_directory(const std::string& base, std::string_view kind,
                                        std::time_t started, const std::string& machine_id_path) {
  if (base.empty()) return Status::error("event output directory is empty");
  std::ifstream in(machine_id_path);
  std::string machine_id;
  if (!in || !std::getline(in, machine_id)) {
    return Status::error("cannot read the machine ID from " + machine_id_path +
                         " (needed for the event directory layout; create it with "
                         "systemd-machine-id-setup)");
  }
  while (!machine_id.empty() && (machine_id.back() == '\r' || machine_id.back() == ' ')) {
    machine_id.pop_back();
  }
  bool valid = !machine_id.empty() && machine_id.size() <= 64;
  for (char c : machine_id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) valid = false;
  }
  if (!valid) {
    return Status::error(machine_id_path + " does not hold a hexadecimal machine ID (got \"" +
                         machine_id.substr(0, 80) + "\")");
  }
  std::tm utc{};
  gmtime_r(&started, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  return base + "/" + machine_id + "/" + stamp + "/" + std::string(kind);
}

std::string format_event_timestamp(uint64_t unix_ns) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1000000000ULL);
  const unsigned micros = static_cast<unsigned>((unix_ns % 1000000000ULL) / 1000ULL);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  size_t n = std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &utc);
  std::snprintf(text + n, sizeof(text) - n, ".%06u", micros);
  return text;
}

}  // namespace netobs
