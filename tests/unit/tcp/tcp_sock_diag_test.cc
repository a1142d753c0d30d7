// NETLINK_SOCK_DIAG for the tcp collector: the request bytes, the parser on
// hand-made kernel answers (good, truncated, errors, other sequence numbers),
// and a real dump of this process's own loopback sockets (no root needed).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <tuple>
#include <vector>

#include "exporter/net/sock_diag.h"
#include "collectors/tcp/tcp_state_counter.h"

namespace netobs {
namespace {

void append(std::vector<uint8_t>& out, const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  out.insert(out.end(), bytes, bytes + size);
  while (out.size() % 4 != 0) out.push_back(0);
}

void append_attr(std::vector<uint8_t>& out, uint16_t type, const void* data, size_t size) {
  rtattr attr{static_cast<unsigned short>(RTA_LENGTH(size)), type};
  append(out, &attr, sizeof attr);
  append(out, data, size);
}

// One SOCK_DIAG_BY_FAMILY message for 10.0.0.1:2181 -> 10.0.0.2:41572.
std::vector<uint8_t> socket_message(uint32_t seq, bool with_info) {
  std::vector<uint8_t> body;
  inet_diag_msg msg{};
  msg.idiag_family = AF_INET;
  msg.idiag_state = 1;
  msg.id.idiag_sport = htons(2181);
  msg.id.idiag_dport = htons(41572);
  inet_pton(AF_INET, "10.0.0.1", msg.id.idiag_src);
  inet_pton(AF_INET, "10.0.0.2", msg.id.idiag_dst);
  msg.id.idiag_cookie[0] = 0x1234;
  msg.id.idiag_cookie[1] = 0x1;
  msg.idiag_inode = 777;
  msg.idiag_rqueue = 5;
  append(body, &msg, sizeof msg);
  if (with_info) {
    tcp_info info{};
    info.tcpi_rtt = 1500;
    info.tcpi_total_retrans = 38;
    info.tcpi_bytes_acked = 1ull << 40;
    append_attr(body, INET_DIAG_INFO, &info, sizeof info);
    uint32_t skmem[SK_MEMINFO_VARS] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    append_attr(body, INET_DIAG_SKMEMINFO, skmem, sizeof skmem);
    append_attr(body, INET_DIAG_CONG, "cubic", 6);
  }
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + body.size());
  header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  header.nlmsg_seq = seq;
  std::vector<uint8_t> out;
  append(out, &header, sizeof header);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> done_message(uint32_t seq) {
  nlmsghdr header{};
  header.nlmsg_len = NLMSG_HDRLEN + 4;
  header.nlmsg_type = NLMSG_DONE;
  header.nlmsg_seq = seq;
  std::vector<uint8_t> out;
  append(out, &header, sizeof header);
  int zero = 0;
  append(out, &zero, sizeof zero);
  return out;
}

TEST(TcpSockDiag, RequestAsksForTcpSocketsOfAFamily) {
  std::vector<uint8_t> bytes = build_tcp_dump_request(AF_INET6, kAllTcpStates, kDiagExtInfo, 9);
  ASSERT_EQ(bytes.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
  nlmsghdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  EXPECT_EQ(header.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(header.nlmsg_seq, 9u);
  inet_diag_req_v2 request;
  std::memcpy(&request, bytes.data() + sizeof header, sizeof request);
  EXPECT_EQ(request.sdiag_family, AF_INET6);
  EXPECT_EQ(request.sdiag_protocol, IPPROTO_TCP);
  EXPECT_EQ(request.idiag_states, kAllTcpStates);
  EXPECT_EQ(request.idiag_ext, kDiagExtInfo);
}

// Both families in one walk: the TCPDIAG_GETSOCK request (inet_diag_req),
// whose answers carry that type and parse like SOCK_DIAG_BY_FAMILY ones.
TEST(TcpSockDiag, RequestForBothFamiliesUsesTheOldMessage) {
  std::vector<uint8_t> bytes = build_tcp_dump_request_any_family(kAllTcpStates, kDiagExtSkmem, 4);
  ASSERT_EQ(bytes.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req));
  nlmsghdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  EXPECT_EQ(header.nlmsg_type, TCPDIAG_GETSOCK);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(header.nlmsg_seq, 4u);
  inet_diag_req request;
  std::memcpy(&request, bytes.data() + sizeof header, sizeof request);
  EXPECT_EQ(request.idiag_states, kAllTcpStates);
  EXPECT_EQ(request.idiag_ext, kDiagExtSkmem);

  std::vector<uint8_t> data = socket_message(4, true);
  nlmsghdr answer;
  std::memcpy(&answer, data.data(), sizeof answer);
  answer.nlmsg_type = TCPDIAG_GETSOCK;
  std::memcpy(data.data(), &answer, sizeof answer);
  int seen = 0;
  DumpParseResult parsed = parse_tcp_dump(data, 4, [&](const TcpSocketRecord& r) {
    ++seen;
    EXPECT_EQ(r.local_port, 2181);
    EXPECT_TRUE(r.has_skmem);
  });
  EXPECT_EQ(parsed.sockets, 1u);
  EXPECT_EQ(seen, 1);
}

// The --local-port pre-filter: one S_EQ op whose "no" jumps past the end,
// as the INET_DIAG_REQ_BYTECODE attribute after the request.
TEST(TcpSockDiag, LocalPortBytecode) {
  std::vector<uint8_t> bytecode = build_local_port_bytecode(5304);
  ASSERT_EQ(bytecode.size(), 2 * sizeof(inet_diag_bc_op));
  inet_diag_bc_op ops[2];
  std::memcpy(ops, bytecode.data(), sizeof ops);
  EXPECT_EQ(ops[0].code, INET_DIAG_BC_S_EQ);
  EXPECT_EQ(ops[0].yes, 8);
  EXPECT_EQ(ops[0].no, 12);
  EXPECT_EQ(ops[1].no, 5304);
  std::vector<uint8_t> request = build_tcp_dump_request_any_family(kAllTcpStates, 0, 1);
  const size_t plain = request.size();
  append_bytecode(request, bytecode);
  ASSERT_EQ(request.size(), plain + RTA_SPACE(bytecode.size()));
  nlmsghdr header;
  std::memcpy(&header, request.data(), sizeof header);
  EXPECT_EQ(header.nlmsg_len, request.size());
  rtattr attr;
  std::memcpy(&attr, request.data() + plain, sizeof attr);
  EXPECT_EQ(attr.rta_type, INET_DIAG_REQ_BYTECODE);
  EXPECT_EQ(attr.rta_len, RTA_LENGTH(bytecode.size()));
}

TEST(TcpSockDiag, ParsesSocketsWithTheirAttributes) {
  std::vector<uint8_t> data = socket_message(3, true);
  std::vector<uint8_t> plain = socket_message(3, false);
  data.insert(data.end(), plain.begin(), plain.end());
  std::vector<uint8_t> done = done_message(3);
  data.insert(data.end(), done.begin(), done.end());

  std::vector<TcpSocketRecord> records;
  DumpParseResult result =
      parse_tcp_dump(data, 3, [&](const TcpSocketRecord& r) { records.push_back(r); });
  EXPECT_EQ(result.progress, DumpProgress::kDone);
  EXPECT_EQ(result.malformed, 0u);
  ASSERT_EQ(records.size(), 2u);
  const TcpSocketRecord& r = records[0];
  EXPECT_EQ(r.local_ip(), "10.0.0.1");
  EXPECT_EQ(r.remote_ip(), "10.0.0.2");
  EXPECT_EQ(r.local_port, 2181);
  EXPECT_EQ(r.remote_port, 41572);
  EXPECT_EQ(r.cookie, 0x100001234ull);
  EXPECT_EQ(r.inode, 777u);
  EXPECT_EQ(r.rqueue, 5u);
  ASSERT_TRUE(r.has_info);
  EXPECT_EQ(r.info_len, sizeof(tcp_info));
  EXPECT_EQ(r.info.tcpi_rtt, 1500u);
  EXPECT_EQ(r.info.tcpi_total_retrans, 38u);
  EXPECT_EQ(r.info.tcpi_bytes_acked, 1ull << 40);
  ASSERT_TRUE(r.has_skmem);
  EXPECT_EQ(r.skmem[SK_MEMINFO_DROPS], 9u);
  EXPECT_EQ(r.congestion, "cubic");
  EXPECT_FALSE(records[1].has_info);
  EXPECT_EQ(records[1].info.tcpi_rtt, 0u);
}

TEST(TcpSockDiag, IgnoresOtherSequenceNumbersAndStopsAtTruncation) {
  std::vector<uint8_t> data = socket_message(1, true);  // a stale answer
  std::vector<uint8_t> mine = socket_message(2, true);
  data.insert(data.end(), mine.begin(), mine.end());
  size_t count = 0;
  DumpParseResult result = parse_tcp_dump(data, 2, [&](const TcpSocketRecord&) { ++count; });
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(result.progress, DumpProgress::kMore);

  for (size_t cut = 0; cut < mine.size(); ++cut) {
    count = 0;
    result = parse_tcp_dump(std::span<const uint8_t>(mine.data(), cut), 2,
                            [&](const TcpSocketRecord&) { ++count; });
    EXPECT_EQ(count, 0u) << cut;
    EXPECT_EQ(result.progress, DumpProgress::kMore);
  }
}

TEST(TcpSockDiag, ReportsKernelErrors) {
  nlmsghdr header{};
  header.nlmsg_type = NLMSG_ERROR;
  header.nlmsg_seq = 4;
  nlmsgerr error{};
  error.error = -EPERM;
  header.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + sizeof error);
  std::vector<uint8_t> data;
  append(data, &header, sizeof header);
  append(data, &error, sizeof error);
  DumpParseResult result = parse_tcp_dump(data, 4, nullptr);
  EXPECT_EQ(result.progress, DumpProgress::kError);
  EXPECT_EQ(result.error, EPERM);
}

TEST(TcpSockDiag, StateNames) {
  EXPECT_EQ(tcp_state_name(1), "established");
  EXPECT_EQ(tcp_state_name(10), "listen");
  EXPECT_EQ(tcp_state_name(200), "unknown");
  EXPECT_EQ(parse_tcp_state("time-wait"), 6);
  EXPECT_EQ(parse_tcp_state("SYN_SENT"), 2);
  EXPECT_EQ(parse_tcp_state("fin-wait-1"), 4);
  EXPECT_EQ(parse_tcp_state("bogus"), std::nullopt);
}

// A real dump: this process's own loopback connection shows up with the
// kernel's tcp_info, and the state counts include it.
TEST(TcpSockDiag, DumpsOwnLoopbackSockets) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server, 0);
  sockaddr_in client_addr{};
  len = sizeof client_addr;
  getsockname(client, reinterpret_cast<sockaddr*>(&client_addr), &len);

  int listener6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 addr6{};
  addr6.sin6_family = AF_INET6;
  addr6.sin6_addr = in6addr_loopback;
  ASSERT_EQ(bind(listener6, reinterpret_cast<sockaddr*>(&addr6), sizeof addr6), 0);
  ASSERT_EQ(listen(listener6, 4), 0);
  len = sizeof addr6;
  getsockname(listener6, reinterpret_cast<sockaddr*>(&addr6), &len);
  const uint16_t v6_port = ntohs(addr6.sin6_port);

  Result<SockDiagSocket> diag = SockDiagSocket::open();
  ASSERT_TRUE(diag) << diag.message();
  int found = 0;
  Status status =
      diag->dump_all(kAllTcpStates, kDiagExtInfo | kDiagExtSkmem, [&](const TcpSocketRecord& r) {
        if (r.local_port != ntohs(client_addr.sin_port)) return;
        ++found;
        EXPECT_EQ(r.state, kTcpEstablished);
        EXPECT_EQ(r.remote_port, ntohs(addr.sin_port));
        EXPECT_TRUE(r.has_info);
        EXPECT_GT(r.info.tcpi_rtt, 0u);
        EXPECT_TRUE(r.has_skmem);
        EXPECT_NE(r.inode, 0u);
      });
  ASSERT_TRUE(status) << status.message();
  EXPECT_EQ(found, 1);
  // The one-walk dump of both families holds exactly what one dump per
  // family does (this process's sockets, compared by cookie).
  auto own = [&](const TcpSocketRecord& r) {
    return r.local_port == ntohs(addr.sin_port) || r.remote_port == ntohs(addr.sin_port) ||
           r.local_port == v6_port;
  };
  std::set<std::tuple<uint64_t, uint8_t, uint8_t>> walked, per_family;
  ASSERT_TRUE(diag->dump_all(kAllTcpStates, 0, [&](const TcpSocketRecord& r) {
    if (own(r)) walked.insert({r.cookie, r.family, r.state});
  }));
  for (uint8_t family : {AF_INET, AF_INET6}) {
    ASSERT_TRUE(diag->dump(family, kAllTcpStates, 0, [&](const TcpSocketRecord& r) {
      if (own(r)) per_family.insert({r.cookie, r.family, r.state});
    }));
  }
  EXPECT_EQ(walked, per_family);
  EXPECT_EQ(walked.size(), 4u);  // listener, both ends, the IPv6 listener
  // With the kernel's port filter: only the listener and the server end,
  // and nothing of any other port.
  std::set<uint8_t> on_port;
  size_t others = 0;
  ASSERT_TRUE(diag->dump_all(kAllTcpStates, kDiagExtInfo, ntohs(addr.sin_port),
                             [&](const TcpSocketRecord& r) {
                               if (r.local_port != ntohs(addr.sin_port)) ++others;
                               if (own(r)) on_port.insert(r.state);
                             }));
  EXPECT_EQ(others, 0u);
  EXPECT_EQ(on_port, (std::set<uint8_t>{kTcpEstablished, kTcpListen}));
  Result<TcpStateCounts> counts = diag->count_states();
  ASSERT_TRUE(counts) << counts.message();
  EXPECT_GE((*counts)[kTcpEstablished], 2u);
  EXPECT_GE((*counts)[kTcpListen], 1u);
  close(client);
  close(server);
  close(listener);
  close(listener6);
}

}  // namespace
}  // namespace netobs

namespace netobs {
namespace {

// The timewait count of the tracked state gauge comes from /proc/net/sockstat.
TEST(SockstatTimewait, ReadsTheTcpLine) {
  EXPECT_EQ(parse_sockstat_timewait("sockets: used 120\n"
                                    "TCP: inuse 5 orphan 0 tw 37 alloc 9 mem 1\n"
                                    "UDP: inuse 2 mem 0\n"),
            37u);
  EXPECT_EQ(parse_sockstat_timewait("TCP: inuse 0 orphan 0 tw 0 alloc 0 mem 0"), 0u);
  EXPECT_EQ(parse_sockstat_timewait("UDP: inuse 2 mem 0\n"), std::nullopt);
  EXPECT_EQ(parse_sockstat_timewait("TCP: inuse 5 orphan 0\nUDP: tw 3\n"), std::nullopt);
  EXPECT_EQ(parse_sockstat_timewait("TCP: inuse 5 tw x"), std::nullopt);
  EXPECT_EQ(parse_sockstat_timewait(""), std::nullopt);
}

}  // namespace
}  // namespace netobs
