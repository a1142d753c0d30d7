#include "collectors/socket/socket_format.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdint>
#include <cstring>

namespace netobs {

const std::array<SocketFlag, SOCKET_FLAG_COUNT> kSocketFlags = {{
    {"MSG_OOB", 0x01},
    {"MSG_PEEK", 0x02},
    {"MSG_DONTROUTE", 0x04},
    {"MSG_DONTWAIT", 0x40},
    {"MSG_NOSIGNAL", 0x4000},
    {"MSG_WAITALL", 0x100},
    {"MSG_MORE", 0x8000},
    {"MSG_ZEROCOPY", 0x4000000},
}};

const std::array<uint32_t, 8> kCommonErrnos = {11, 32, 103, 104, 110, 111, 113, 115};

namespace {

// linux/socket.h, in bit order.
constexpr SocketFlag kAllFlags[] = {
    {"MSG_OOB", 0x01},
    {"MSG_PEEK", 0x02},
    {"MSG_DONTROUTE", 0x04},
    {"MSG_CTRUNC", 0x08},
    {"MSG_PROBE", 0x10},
    {"MSG_TRUNC", 0x20},
    {"MSG_DONTWAIT", 0x40},
    {"MSG_EOR", 0x80},
    {"MSG_WAITALL", 0x100},
    {"MSG_FIN", 0x200},
    {"MSG_SYN", 0x400},
    {"MSG_CONFIRM", 0x800},
    {"MSG_RST", 0x1000},
    {"MSG_ERRQUEUE", 0x2000},
    {"MSG_NOSIGNAL", 0x4000},
    {"MSG_MORE", 0x8000},
    {"MSG_WAITFORONE", 0x10000},
    {"MSG_BATCH", 0x40000},
    {"MSG_NO_SHARED_FRAGS", 0x80000},
    {"MSG_SENDPAGE_DECRYPTED", 0x100000},
    {"MSG_SOCK_DEVMEM", 0x2000000},
    {"MSG_ZEROCOPY", 0x4000000},
    {"MSG_SPLICE_PAGES", 0x8000000},
    {"MSG_FASTOPEN", 0x20000000},
    {"MSG_CMSG_CLOEXEC", 0x40000000},
    {"MSG_CMSG_COMPAT", 0x80000000},
};

}  // namespace

std::string format_msg_flags(uint32_t flags) {
  std::string out;
  uint32_t named = 0;
  for (const auto& flag : kAllFlags) {
    if ((flags & flag.value) == 0 || (named & flag.value) != 0) continue;
    named |= flag.value;
    if (!out.empty()) out += '|';
    out += flag.name;
  }
  if (uint32_t rest = flags & ~named; rest != 0) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%x", rest);
    if (!out.empty()) out += '|';
    out += hex;
  }
  return out;
}

std::string_view socket_protocol_name(uint32_t proto_index) {
  return proto_index == SOCKET_PROTO_TCP ? "tcp" : "udp";
}

std::string_view socket_direction_name(uint32_t direction) {
  return direction == SOCKET_DIR_SEND ? "send" : "receive";
}

const EventSchema& socket_event_schema() {
  static const EventSchema kSchema{
      "nw",
      {
          {"Timestamp", "timestamp", EventFieldType::kString},
          {"PID", "pid", EventFieldType::kInteger},
          {"Command", "command", EventFieldType::kString},
          {"Protocol", "protocol", EventFieldType::kString},
          {"IP Version", "ip_version", EventFieldType::kString},
          {"Source Address", "source_address", EventFieldType::kString},
          {"Destination Address", "destination_address", EventFieldType::kString},
          {"Source Port", "source_port", EventFieldType::kInteger},
          {"Destination Port", "destination_port", EventFieldType::kInteger},
          {"Size", "size", EventFieldType::kInteger},
          {"Direction", "direction", EventFieldType::kString},
          {"Latency", "latency_ns", EventFieldType::kInteger},
          {"Error", "error", EventFieldType::kString},
          {"MSG Flags", "msg_flags", EventFieldType::kString},
      }};
  return kSchema;
}

std::string format_event_address(const uint8_t (&address)[16], uint8_t ip_version) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ip_version == 4) {
    inet_ntop(AF_INET, address, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, address, text, sizeof(text));
  }
  return text;
}

EventRow format_socket_event(const socket_event& event, int64_t monotonic_to_unix_ns) {
  char comm[SOCKET_COMM_LEN + 1] = {};
  std::memcpy(comm, event.comm, SOCKET_COMM_LEN);
  // ts_ns comes from the kernel (or a corrupt record): an out-of-range sum
  // prints the epoch instead of overflowing.
  int64_t unix_ns = 0;
  if (event.ts_ns > static_cast<uint64_t>(INT64_MAX) ||
      __builtin_add_overflow(static_cast<int64_t>(event.ts_ns), monotonic_to_unix_ns, &unix_ns)) {
    unix_ns = 0;
  }
  EventRow row;
  row.reserve(14);
  row.push_back(format_event_timestamp(unix_ns > 0 ? static_cast<uint64_t>(unix_ns) : 0));
  row.push_back(std::to_string(event.pid));
  row.emplace_back(comm);
  row.emplace_back(event.protocol == 6 ? "TCP" : event.protocol == 17 ? "UDP" : "");
  row.push_back(std::to_string(event.ip_version));
  row.push_back(format_event_address(event.saddr, event.ip_version));
  row.push_back(format_event_address(event.daddr, event.ip_version));
  row.push_back(std::to_string(event.sport));
  row.push_back(std::to_string(event.dport));
  row.push_back(std::to_string(event.size));
  row.emplace_back(socket_direction_name(event.direction));
  row.push_back(event.latency_ns == 0 ? std::string() : std::to_string(event.latency_ns));
  row.push_back(event.err == 0 ? std::string() : errno_name(event.err));
  row.push_back(format_msg_flags(event.flags));
  return row;
}

}  // namespace netobs
