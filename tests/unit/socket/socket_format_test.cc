// Pure parts of the socket collector: flag and errno names, the seed-002
// row format (every empty-field rule), and the metrics built from a
// snapshot (zero series, histogram buckets, folding).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <cstring>
#include <sstream>

#include "collectors/socket/socket_format.h"
#include "collectors/socket/socket_metrics.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SocketFormatTest, FlagNamesFollowLinuxValues) {
  EXPECT_EQ(format_msg_flags(0), "");
  EXPECT_EQ(format_msg_flags(MSG_DONTWAIT), "MSG_DONTWAIT");
  EXPECT_EQ(format_msg_flags(MSG_DONTWAIT | MSG_NOSIGNAL), "MSG_DONTWAIT|MSG_NOSIGNAL");
  EXPECT_EQ(format_msg_flags(MSG_MORE | MSG_OOB), "MSG_OOB|MSG_MORE");
  EXPECT_EQ(format_msg_flags(MSG_PEEK | MSG_WAITALL), "MSG_PEEK|MSG_WAITALL");
  EXPECT_EQ(format_msg_flags(MSG_ZEROCOPY), "MSG_ZEROCOPY");
  EXPECT_EQ(format_msg_flags(MSG_DONTROUTE), "MSG_DONTROUTE");
  EXPECT_EQ(format_msg_flags(0x1000000), "0x1000000");
  EXPECT_EQ(format_msg_flags(MSG_PEEK | 0x1000000), "MSG_PEEK|0x1000000");
  // The counted flags use the same values as <sys/socket.h>.
  for (const auto& flag : kSocketFlags) EXPECT_EQ(format_msg_flags(flag.value), flag.name);
}

TEST(SocketFormatTest, ErrnoNamesCoverTheSeedAndMore) {
  EXPECT_EQ(errno_name(11), "EAGAIN");
  EXPECT_EQ(errno_name(32), "EPIPE");
  EXPECT_EQ(errno_name(103), "ECONNABORTED");
  EXPECT_EQ(errno_name(104), "ECONNRESET");
  EXPECT_EQ(errno_name(110), "ETIMEDOUT");
  EXPECT_EQ(errno_name(111), "ECONNREFUSED");
  EXPECT_EQ(errno_name(113), "EHOSTUNREACH");
  EXPECT_EQ(errno_name(115), "EINPROGRESS");
  EXPECT_EQ(errno_name(4), "EINTR");
  EXPECT_EQ(errno_name(90), "EMSGSIZE");
  EXPECT_EQ(errno_name(512), "ERESTARTSYS");
  EXPECT_EQ(errno_name(9999), "E9999");
  for (uint32_t err = 1; err < 134; ++err) EXPECT_NE(errno_name(err)[0], '\0');
}

socket_event sample_event() {
  socket_event e{};
  e.ts_ns = 5'000'000'123'456ULL;  // monotonic
  e.pid = 4242;
  std::strcpy(e.comm, "curl");
  e.protocol = 6;
  e.ip_version = 4;
  const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {192, 168, 1, 20};
  std::memcpy(e.saddr, src, 4);
  std::memcpy(e.daddr, dst, 4);
  e.sport = 40000;
  e.dport = 443;
  e.size = 517;
  e.direction = SOCKET_DIR_SEND;
  e.latency_ns = 12345;
  e.flags = MSG_NOSIGNAL;
  return e;
}

TEST(SocketFormatTest, RowHasTheSeedsFourteenFields) {
  // 1700000000 s Unix = 2023-11-14 22:13:20 UTC.
  const int64_t offset = 1'700'000'000'000'000'000LL - 5'000'000'000'000ULL;
  EventRow row = format_socket_event(sample_event(), offset);
  EXPECT_THAT(row, ::testing::ElementsAre("2023-11-14 22:13:20.000123", "4242", "curl", "TCP", "4",
                                          "10.0.0.1", "192.168.1.20", "40000", "443", "517", "send",
                                          "12345", "", "MSG_NOSIGNAL"));
  EXPECT_EQ(format_csv_row(socket_event_schema(), row),
            "2023-11-14 22:13:20.000123,4242,curl,TCP,4,10.0.0.1,192.168.1.20,40000,443,517,send,"
            "12345,,MSG_NOSIGNAL\n");
  EXPECT_EQ(format_csv_header(socket_event_schema()),
            "Timestamp,PID,Command,Protocol,IP Version,Source Address,Destination Address,"
            "Source Port,Destination Port,Size,Direction,Latency,Error,MSG Flags\n");
}

TEST(SocketFormatTest, EmptyFieldRules) {
  socket_event e = sample_event();
  e.latency_ns = 0;  // empty
  e.flags = 0;       // empty
  e.err = 104;
  e.size = 0;
  e.direction = SOCKET_DIR_RECV;
  e.protocol = 17;
  e.ip_version = 6;
  std::memset(e.saddr, 0, 16);
  std::memset(e.daddr, 0, 16);
  e.saddr[15] = 1;  // ::1
  e.daddr[0] = 0xfe;
  e.daddr[1] = 0x80;
  e.daddr[15] = 2;
  EventRow row = format_socket_event(e, 0);
  EXPECT_EQ(row[3], "UDP");
  EXPECT_EQ(row[4], "6");
  EXPECT_EQ(row[5], "::1");
  EXPECT_EQ(row[6], "fe80::2");
  EXPECT_EQ(row[9], "0");
  EXPECT_EQ(row[10], "receive");
  EXPECT_EQ(row[11], "");
  EXPECT_EQ(row[12], "ECONNRESET");
  EXPECT_EQ(row[13], "");
  EXPECT_EQ(format_json_line(socket_event_schema(), row).substr(0, 1), "{");
  EXPECT_THAT(format_json_line(socket_event_schema(), row),
              HasSubstr("\"size\":0,\"direction\":\"receive\",\"latency_ns\":null,"
                        "\"error\":\"ECONNRESET\",\"msg_flags\":null}"));
}

TEST(SocketFormatTest, CommWithoutTerminatorIsCut) {
  socket_event e = sample_event();
  std::memcpy(e.comm, "0123456789abcdef", 16);  // no NUL in 16 bytes
  EXPECT_EQ(format_socket_event(e, 0)[2], "0123456789abcdef");
}

std::string serialize(const SocketSnapshot& snapshot) {
  std::vector<prometheus::MetricFamily> families;
  append_socket_metrics(snapshot, families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

TEST(SocketMetricsTest, WithoutProcessesEverySeriesStartsAtZero) {
  SocketSnapshot snapshot;
  snapshot.per_process = false;
  snapshot.processes.push_back({});
  const std::string text = serialize(snapshot);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total",
                                  "direction=\"send\",ip_version=\"6\",protocol=\"udp\""),
            0);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_errors_total",
                                  "direction=\"receive\",error=\"EHOSTUNREACH\",protocol=\"tcp\""),
            0);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_msg_flags_total",
                                  "direction=\"send\",flag=\"MSG_ZEROCOPY\""),
            0);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_count",
                                  "direction=\"send\",protocol=\"tcp\""),
            0);
  EXPECT_THAT(text, Not(HasSubstr("comm=")));
  EXPECT_THAT(text, Not(HasSubstr("netobs_series_dropped_total")));
}

// Without the syscall tracepoints (the default) nothing records latency or
// the flags of a send: those series are absent, not zeros that look like
// measurements; receive flags (from sock_recv_length) stay.
TEST(SocketMetricsTest, WithoutSyscallTracepointsNoLatencyAndNoSendFlags) {
  SocketSnapshot snapshot;
  snapshot.per_process = false;
  snapshot.syscall_tracepoints = false;
  SocketSnapshot::Process p;
  socket_stats& s = p.stats[SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_RECV];
  s.calls[SOCKET_IPV4] = 2;
  s.size_slots[3] = 2;
  s.flags[0] = 1;
  snapshot.processes.push_back(p);
  const std::string text = serialize(snapshot);
  EXPECT_THAT(text, Not(HasSubstr("netobs_socket_operation_duration_seconds")));
  EXPECT_THAT(text, Not(HasSubstr("netobs_socket_msg_flags_total{direction=\"send\"")));
  EXPECT_EQ(testing::metric_value(
                text, "netobs_socket_msg_flags_total",
                "direction=\"receive\",flag=\"" + std::string(kSocketFlags[0].name) + "\""),
            1);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_count",
                                  "direction=\"receive\",protocol=\"tcp\""),
            2);
  snapshot.syscall_tracepoints = true;
  EXPECT_THAT(serialize(snapshot), HasSubstr("netobs_socket_operation_duration_seconds"));
}

TEST(SocketMetricsTest, HistogramBucketsAreInclusivePowersOfTwo) {
  SocketSnapshot snapshot;
  SocketSnapshot::Process p;
  p.comm = "nginx";
  socket_stats& s = p.stats[SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_SEND];
  s.calls[SOCKET_IPV4] = 3;
  s.bytes[SOCKET_IPV4] = 1024 + 1025 + 1;
  s.size_sum = s.bytes[SOCKET_IPV4];
  s.size_slots[10] = 1;  // 1024 -> le 1024
  s.size_slots[11] = 1;  // 1025 -> le 2048
  s.size_slots[0] = 1;   // 1 -> le 1
  s.lat_slots[0] = 2;    // <= 1.024 us
  s.lat_slots[SOCKET_LAT_SLOTS - 1] = 1;
  s.lat_sum_ns = 3'000'000'000ULL;
  snapshot.processes.push_back(p);
  const std::string text = serialize(snapshot);
  const std::string labels = "comm=\"nginx\",direction=\"send\",protocol=\"tcp\"";
  EXPECT_EQ(
      testing::metric_value(text, "netobs_socket_message_size_bytes_bucket", labels + ",le=\"1\""),
      1);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_bucket",
                                  labels + ",le=\"512\""),
            1);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_bucket",
                                  labels + ",le=\"1024\""),
            2);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_bucket",
                                  labels + ",le=\"2048\""),
            3);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_sum", labels), 2050);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_operation_duration_seconds_bucket",
                                  labels + ",le=\"1.024e-06\""),
            2);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_operation_duration_seconds_bucket",
                                  labels + ",le=\"+Inf\""),
            3);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_operation_duration_seconds_sum", labels), 3);
  // A pair this process never used has no histogram.
  EXPECT_THAT(text, Not(HasSubstr("netobs_socket_message_size_bytes_count{comm=\"nginx\","
                                  "direction=\"receive\"")));
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"socket\",metric=\"comm\""),
            0);
}

TEST(SocketMetricsTest, ErrorsByNameAndDisabledProtocolsAbsent) {
  SocketSnapshot snapshot;
  snapshot.protocol_mask = 1u << SOCKET_PROTO_UDP;
  snapshot.processes.push_back({"dig", {}});
  snapshot.errors.push_back({"dig", SOCKET_PROTO_UDP, SOCKET_DIR_RECV, 111, 4});
  snapshot.errors.push_back({"dig", SOCKET_PROTO_UDP, SOCKET_DIR_RECV, 90, 1});
  const std::string text = serialize(snapshot);
  EXPECT_EQ(testing::metric_value(
                text, "netobs_socket_errors_total",
                "comm=\"dig\",direction=\"receive\",error=\"ECONNREFUSED\",protocol=\"udp\""),
            4);
  EXPECT_EQ(testing::metric_value(
                text, "netobs_socket_errors_total",
                "comm=\"dig\",direction=\"receive\",error=\"EMSGSIZE\",protocol=\"udp\""),
            1);
  EXPECT_THAT(text, Not(HasSubstr("protocol=\"tcp\"")));
}

}  // namespace
}  // namespace netobs
