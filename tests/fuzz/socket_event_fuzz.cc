// Fuzzes what user space does with bytes from the socket collector's BPF
// side: a ring-buffer record (any content, any length) formatted as a
// seed-002 row in CSV and JSON, and stats/errors values rendered as metrics.
#include <prometheus/text_serializer.h>

#include <cstdint>
#include <cstring>
#include <sstream>

#include "collectors/socket/socket_format.h"
#include "collectors/socket/socket_metrics.h"
#include "exporter/events/event_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netobs;
  socket_event event{};
  std::memcpy(&event, data, std::min(size, sizeof(event)));
  int64_t offset = 0;
  if (size >= sizeof(event) + sizeof(offset)) {
    std::memcpy(&offset, data + sizeof(event), sizeof(offset));
  }
  const EventRow row = format_socket_event(event, offset);
  if (row.size() != socket_event_schema().fields.size()) __builtin_trap();
  const std::string csv = format_csv_row(socket_event_schema(), row);
  const std::string json = format_json_line(socket_event_schema(), row);
  if (csv.empty() || csv.back() != '\n' || json.back() != '\n') __builtin_trap();

  SocketSnapshot snapshot;
  snapshot.per_process = (event.flags & 1) != 0;
  snapshot.protocol_mask = event.direction;
  SocketSnapshot::Process process;
  process.comm = row[2];
  std::memcpy(&process.stats, data, std::min(size, sizeof(process.stats)));
  snapshot.processes.push_back(process);
  snapshot.errors.push_back({row[2], event.protocol, event.direction, event.err, event.size});
  std::vector<prometheus::MetricFamily> families;
  append_socket_metrics(snapshot, families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return 0;
}
