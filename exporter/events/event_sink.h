// Event sinks: where per-event records (network event capture, DNS
// events, ...) go. An event is a row of values in the order of an
// EventSchema; sinks format it as CSV or JSON lines and write it to a
// stream or to size-rotated files. A sink is owned by one collector and
// written from one thread (its ring-buffer reader); flush() may come from
// another thread (stop), so every sink locks internally.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace netobs {

enum class EventFieldType { kString, kInteger };

struct EventField {
  std::string csv_name;   // CSV header cell, e.g. "Source Port"
  std::string json_name;  // JSON key, e.g. "src_port"
  EventFieldType type = EventFieldType::kString;
};

// What a collector's events look like. `kind` names the output folder and
// the file prefix ("nw" -> nw/nw_000001.csv).
struct EventSchema {
  std::string kind;
  std::vector<EventField> fields;
};

// One event: a value per schema field, in schema order. An empty value is
// an empty CSV cell and a JSON null; kInteger values are written unquoted
// in JSON (the producer guarantees they are decimal integers).
using EventRow = std::vector<std::string>;

enum class EventFormat { kCsv, kJson };

// "csv" or "json"; anything else is an error naming the choices.
Result<EventFormat> parse_event_format(std::string_view text);
std::string_view event_format_extension(EventFormat format);  // "csv" | "jsonl"

// Pure formatting (RFC 4180 quoting for CSV), each line ending in '\n'.
std::string format_csv_header(const EventSchema& schema);
std::string format_csv_row(const EventSchema& schema, const EventRow& row);
std::string format_json_line(const EventSchema& schema, const EventRow& row);
std::string format_event(EventFormat format, const EventSchema& schema, const EventRow& row);

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Writes one event; an error means the row was not (fully) written.
  virtual Status write(const EventRow& row) = 0;
  // Writes one event already formatted as a whole line ending in '\n'
  // (events whose shape is not a flat row, such as security alerts' nested
  // JSON); no CSV header is written for it.
  virtual Status write_line(std::string_view line) = 0;
  // Pushes buffered rows to the OS; `durable` also fsyncs them to disk.
  virtual Status flush(bool durable) = 0;
  virtual uint64_t rows_written() const = 0;
};

// Writes to a stream (stdout for `netobs trace`); CSV gets its header first.
// The stream must outlive the sink.
class StreamEventSink final : public EventSink {
 public:
  StreamEventSink(std::ostream& out, EventFormat format, EventSchema schema);
  Status write(const EventRow& row) override;
  Status write_line(std::string_view line) override;
  Status flush(bool durable) override;
  uint64_t rows_written() const override;

 private:
  mutable std::mutex mutex_;
  std::ostream& out_;
  EventFormat format_;
  EventSchema schema_;
  bool header_written_ = false;
  uint64_t rows_ = 0;
};

// Writes <dir>/<kind>_NNNNNN.<ext> files, starting a new one (fsync'ing
// and closing the old) once a file reaches rotate_bytes (0: never). Every
// CSV file starts with the header row. Files are created 0640.
class RotatingFileEventSink final : public EventSink {
 public:
  struct Options {
    std::string directory;  // created (with parents) when missing
    EventFormat format = EventFormat::kCsv;
    uint64_t rotate_bytes = 0;
  };

  static Result<std::unique_ptr<RotatingFileEventSink>> open(Options options, EventSchema schema);
  ~RotatingFileEventSink() override;

  Status write(const EventRow& row) override;
  Status write_line(std::string_view line) override;
  Status flush(bool durable) override;
  uint64_t rows_written() const override;

  // Paths of every file written so far, oldest first.
  std::vector<std::string> files() const;

 private:
  RotatingFileEventSink(Options options, EventSchema schema);
  Status open_next_locked();
  Status close_current_locked();

  mutable std::mutex mutex_;
  Options options_;
  EventSchema schema_;
  FILE* file_ = nullptr;
  uint64_t file_bytes_ = 0;
  uint64_t file_rows_ = 0;
  uint64_t rows_ = 0;
  std::vector<std::string> files_;
};

// The directory network event capture lays out for one run:
// <base>/<MACHINE_ID>/<TIMESTAMP>/<kind>, TIMESTAMP = `started` in UTC as
// YYYYMMDDTHHMMSSZ. MACHINE_ID is the first line of machine_id_path
// (/etc/machine-id); an unreadable or malformed file is an error naming it.
Result<std::string> event_run_directory(const std::string& base, std::string_view kind,
                                        std::time_t started,
                                        const std::string& machine_id_path = "/etc/machine-id");

// Network event capture's timestamp: "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) from Unix
// nanoseconds.
std::string format_event_timestamp(uint64_t unix_ns);

}  // namespace netobs
