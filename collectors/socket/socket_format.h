// Pure formatting for the socket collector: errno and MSG_* flag names, the
// network event capture schema, and socket_event -> EventRow. No kernel access;
// unit-tested and fuzzed as plain C++.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "bpf/socket.h"
#include "exporter/errno_name.h"
#include "exporter/events/event_sink.h"

namespace netobs {

// The MSG_* flags counted by netobs_socket_msg_flags_total, in the order of
// socket_stats.flags (bpf/socket.bpf.c count_flags). Values are Linux's.
struct SocketFlag {
  std::string_view name;
  uint32_t value;
};
extern const std::array<SocketFlag, SOCKET_FLAG_COUNT> kSocketFlags;

// Every MSG_* flag of linux/socket.h, "|"-joined in bit order; bits without
// a name as one hex value ("MSG_DONTWAIT|MSG_NOSIGNAL", "MSG_PEEK|0x80000000").
// Empty for 0.
std::string format_msg_flags(uint32_t flags);

// The common errors (EAGAIN, EPIPE, ECONNABORTED, ECONNRESET, ETIMEDOUT,
// ECONNREFUSED, EHOSTUNREACH, EINPROGRESS); netobs_socket_errors_total has them from the
// first scrape (value 0) for every protocol and direction.
extern const std::array<uint32_t, 8> kCommonErrnos;

std::string_view socket_protocol_name(uint32_t proto_index);  // "tcp" | "udp" (metric labels)
std::string_view socket_direction_name(uint32_t direction);   // "send" | "receive"

// The 14 fields of network event capture.
const EventSchema& socket_event_schema();

// Wall-clock conversion: the event's CLOCK_MONOTONIC time plus this offset
// (realtime - monotonic, in ns) is Unix time.
EventRow format_socket_event(const socket_event& event, int64_t monotonic_to_unix_ns);

// "127.0.0.1" / "::1" from a socket_event address field.
std::string format_event_address(const uint8_t (&address)[16], uint8_t ip_version);

}  // namespace netobs
