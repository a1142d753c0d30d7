#include "exporter/net/sock_diag.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>

#include "exporter/errno_name.h"

namespace netobs {
namespace {

constexpr std::array<std::string_view, 13> kStateNames = {
    "unknown", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",   "time_wait",
    "close",   "close_wait",  "last_ack", "listen",   "closing",   "new_syn_recv"};

constexpr size_t kRecvBufferSize = 64 * 1024;

std::string format_ip(uint8_t family, const std::array<uint8_t, 16>& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) {
    inet_ntop(AF_INET, addr.data(), text, sizeof(text));
    return text;
  }
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(addr.data(), kMapped, sizeof(kMapped)) == 0) {
    inet_ntop(AF_INET, addr.data() + 12, text, sizeof(text));
    return text;
  }
  inet_ntop(AF_INET6, addr.data(), text, sizeof(text));
  return text;
}

// Fills a record from one SOCK_DIAG_BY_FAMILY message payload.
bool parse_socket_message(std::span<const uint8_t> payload, TcpSocketRecord& record,
                          size_t& malformed) {
  if (payload.size() < sizeof(inet_diag_msg)) return false;
  inet_diag_msg msg;
  std::memcpy(&msg, payload.data(), sizeof(msg));
  record = TcpSocketRecord{};
  record.family = msg.idiag_family;
  record.state = msg.idiag_state;
  record.timer = msg.idiag_timer;
  record.retrans = msg.idiag_retrans;
  const size_t addr_len = msg.idiag_family == AF_INET ? 4 : 16;
  std::memcpy(record.local_addr.data(), msg.id.idiag_src, addr_len);
  std::memcpy(record.remote_addr.data(), msg.id.idiag_dst, addr_len);
  record.local_port = ntohs(msg.id.idiag_sport);
  record.remote_port = ntohs(msg.id.idiag_dport);
  record.ifindex = msg.id.idiag_if;
  record.cookie = static_cast<uint64_t>(msg.id.idiag_cookie[0]) |
                  (static_cast<uint64_t>(msg.id.idiag_cookie[1]) << 32);
  record.expires_ms = msg.idiag_expires;
  record.rqueue = msg.idiag_rqueue;
  record.wqueue = msg.idiag_wqueue;
  record.uid = msg.idiag_uid;
  record.inode = msg.idiag_inode;

  size_t offset = NLMSG_ALIGN(sizeof(inet_diag_msg));
  while (offset + sizeof(rtattr) <= payload.size()) {
    rtattr attr;
    std::memcpy(&attr, payload.data() + offset, sizeof(attr));
    if (attr.rta_len < sizeof(rtattr) || offset + attr.rta_len > payload.size()) {
      ++malformed;
      break;
    }
    std::span<const uint8_t> value =
        payload.subspan(offset + RTA_LENGTH(0), attr.rta_len - RTA_LENGTH(0));
    switch (attr.rta_type) {
      case INET_DIAG_INFO:
        record.has_info = true;
        record.info_len = value.size();
        std::memcpy(&record.info, value.data(), std::min(value.size(), sizeof(tcp_info)));
        break;
      case INET_DIAG_SKMEMINFO:
        record.has_skmem = true;
        std::memcpy(record.skmem.data(), value.data(),
                    std::min(value.size(), sizeof(uint32_t) * record.skmem.size()));
        break;
      case INET_DIAG_CONG: {
        const auto* chars = reinterpret_cast<const char*>(value.data());
        record.congestion.assign(chars, strnlen(chars, value.size()));
        break;
      }
      default:
        break;
    }
    offset += RTA_ALIGN(attr.rta_len);
  }
  return true;
}

}  // namespace

std::string_view tcp_state_name(uint8_t state) {
  return state < kStateNames.size() ? kStateNames[state] : kStateNames[0];
}

std::optional<uint8_t> parse_tcp_state(std::string_view name) {
  std::string normalized(name);
  std::replace(normalized.begin(), normalized.end(), '-', '_');
  std::transform(normalized.begin(), normalized.end(), normalized.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (normalized == "fin_wait_1") normalized = "fin_wait1";
  if (normalized == "fin_wait_2") normalized = "fin_wait2";
  for (uint8_t state = 1; state <= kTcpMaxState; ++state) {
    if (kStateNames[state] == normalized) return state;
  }
  return std::nullopt;
}

std::string TcpSocketRecord::local_ip() const { return format_ip(family, local_addr); }
std::string TcpSocketRecord::remote_ip() const { return format_ip(family, remote_addr); }

std::vector<uint8_t> build_tcp_dump_request(uint8_t family, uint32_t states, uint8_t extensions,
                                            uint32_t seq) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = seq;
  message.request.sdiag_family = family;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_ext = extensions;
  message.request.idiag_states = states;
  std::vector<uint8_t> bytes(sizeof(message));
  std::memcpy(bytes.data(), &message, sizeof(message));
  return bytes;
}

std::vector<uint8_t> build_tcp_dump_request_any_family(uint32_t states, uint8_t extensions,
                                                       uint32_t seq) {
  struct {
    nlmsghdr header;
    inet_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = TCPDIAG_GETSOCK;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = seq;
  message.request.idiag_family = AF_INET;  // ignored by dumps: AF_UNSPEC in the kernel
  message.request.idiag_ext = extensions;
  message.request.idiag_states = states;
  std::vector<uint8_t> bytes(sizeof(message));
  std::memcpy(bytes.data(), &message, sizeof(message));
  return bytes;
}

std::vector<uint8_t> build_local_port_bytecode(uint16_t port) {
  // Two ops: "local port == port" (its operand is the second op's `no`);
  // a match steps to the end (accept), a miss jumps 4 bytes past it (reject).
  inet_diag_bc_op ops[2] = {};
  ops[0].code = INET_DIAG_BC_S_EQ;
  ops[0].yes = sizeof(ops);
  ops[0].no = sizeof(ops) + 4;
  ops[1].no = port;
  std::vector<uint8_t> bytes(sizeof(ops));
  std::memcpy(bytes.data(), ops, sizeof(ops));
  return bytes;
}

void append_bytecode(std::vector<uint8_t>& request, const std::vector<uint8_t>& bytecode) {
  rtattr attr{};
  attr.rta_len = static_cast<unsigned short>(RTA_LENGTH(bytecode.size()));
  attr.rta_type = INET_DIAG_REQ_BYTECODE;
  const size_t at = NLMSG_ALIGN(request.size());
  request.resize(at + RTA_SPACE(bytecode.size()), 0);
  std::memcpy(request.data() + at, &attr, sizeof(attr));
  std::memcpy(request.data() + at + RTA_LENGTH(0), bytecode.data(), bytecode.size());
  nlmsghdr header;
  std::memcpy(&header, request.data(), sizeof(header));
  header.nlmsg_len = static_cast<uint32_t>(request.size());
  std::memcpy(request.data(), &header, sizeof(header));
}

DumpParseResult parse_tcp_dump(std::span<const uint8_t> data, uint32_t seq,
                               const std::function<void(const TcpSocketRecord&)>& on_socket) {
  DumpParseResult result;
  size_t offset = 0;
  TcpSocketRecord record;
  while (offset + sizeof(nlmsghdr) <= data.size()) {
    nlmsghdr header;
    std::memcpy(&header, data.data() + offset, sizeof(header));
    if (header.nlmsg_len < sizeof(nlmsghdr) || offset + header.nlmsg_len > data.size()) {
      ++result.malformed;
      return result;
    }
    std::span<const uint8_t> payload =
        data.subspan(offset + NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN);
    offset += NLMSG_ALIGN(header.nlmsg_len);
    if (header.nlmsg_seq != seq) continue;
    if (header.nlmsg_type == NLMSG_DONE) {
      result.progress = DumpProgress::kDone;
      return result;
    }
    if (header.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr error{};
      std::memcpy(&error, payload.data(), std::min(payload.size(), sizeof(error)));
      result.progress = DumpProgress::kError;
      // The kernel sends -errno; anything else (0, INT_MIN from a corrupt
      // message, which cannot be negated) is reported as a protocol error.
      result.error = error.error < 0 && error.error != INT_MIN
                         ? -error.error
                         : (error.error > 0 ? error.error : EPROTO);
      return result;
    }
    if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY && header.nlmsg_type != TCPDIAG_GETSOCK) continue;
    if (!parse_socket_message(payload, record, result.malformed)) {
      ++result.malformed;
      continue;
    }
    ++result.sockets;
    if (on_socket) on_socket(record);
  }
  return result;
}

Result<SockDiagSocket> SockDiagSocket::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) {
    return Status::error(std::string("opening a NETLINK_SOCK_DIAG socket failed: ") +
                         errno_text(errno));
  }
  return SockDiagSocket(std::move(fd));
}

Result<SockDiagSocket> SockDiagSocket::open_in_namespace(const std::string& netns_path) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) {
    return Status::error("opening network namespace " + netns_path +
                         " failed: " + errno_text(errno) +
                         " (use a path like /run/netns/NAME or /proc/PID/ns/net)");
  }
  // setns() changes the calling thread only; the socket keeps the namespace
  // it was created in after the thread is gone.
  int fd = -1;
  int error = 0;
  std::thread([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) error = errno;
  }).join();
  if (fd < 0) {
    return Status::error("opening a NETLINK_SOCK_DIAG socket in " + netns_path +
                         " failed: " + errno_text(error) +
                         (error == EPERM ? " (joining a namespace needs CAP_SYS_ADMIN)" : ""));
  }
  return SockDiagSocket(UniqueFd(fd));
}

Status SockDiagSocket::run_dump(const std::vector<uint8_t>& request, uint32_t seq,
                                const std::function<void(const TcpSocketRecord&)>& on_socket,
                                int& error) {
  error = 0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) < 0) {
    return Status::error(std::string("sock_diag request failed: ") + errno_text(errno));
  }
  buffer_.resize(kRecvBufferSize);
  // Bounded: the kernel ends every dump with NLMSG_DONE or an error.
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buffer_.data(), buffer_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::error(std::string("sock_diag receive failed: ") + errno_text(errno));
    }
    if (n == 0) return Status::error("sock_diag socket closed during a dump");
    DumpParseResult parsed = parse_tcp_dump(
        std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n)), seq, on_socket);
    if (parsed.progress == DumpProgress::kDone) return Status::ok();
    if (parsed.progress == DumpProgress::kError) {
      error = parsed.error;
      return Status::error(std::string("sock_diag dump failed: ") + errno_text(parsed.error));
    }
  }
}

Status SockDiagSocket::dump(uint8_t family, uint32_t states, uint8_t extensions,
                            const std::function<void(const TcpSocketRecord&)>& on_socket) {
  const uint32_t seq = ++seq_;
  int error = 0;
  Status status =
      run_dump(build_tcp_dump_request(family, states, extensions, seq), seq, on_socket, error);
  // No IPv6 in this kernel: no IPv6 sockets to report.
  if (!status && error == ENOENT && family == AF_INET6) return Status::ok();
  return status;
}

Status SockDiagSocket::dump_all(uint32_t states, uint8_t extensions,
                                const std::function<void(const TcpSocketRecord&)>& on_socket) {
  return dump_all(states, extensions, std::nullopt, on_socket);
}

Status SockDiagSocket::dump_all(uint32_t states, uint8_t extensions,
                                std::optional<uint16_t> local_port,
                                const std::function<void(const TcpSocketRecord&)>& on_socket) {
  if (local_port && any_family_ && port_filter_) {
    const uint32_t seq = ++seq_;
    std::vector<uint8_t> request = build_tcp_dump_request_any_family(states, extensions, seq);
    append_bytecode(request, build_local_port_bytecode(*local_port));
    // A kernel without INET_DIAG_BC_S_EQ (4.17) rejects the filter: dump
    // unfiltered from then on.
    if (std::optional<Status> status = run_optional_dump(request, seq, on_socket)) return *status;
    port_filter_ = false;
  }
  if (any_family_) {
    const uint32_t seq = ++seq_;
    // A kernel without the old request type refuses it: ask per family from
    // then on.
    if (std::optional<Status> status = run_optional_dump(
            build_tcp_dump_request_any_family(states, extensions, seq), seq, on_socket)) {
      return *status;
    }
    any_family_ = false;
  }
  Status status = dump(AF_INET, states, extensions, on_socket);
  if (!status) return status;
  return dump(AF_INET6, states, extensions, on_socket);
}

std::optional<Status> SockDiagSocket::run_optional_dump(
    const std::vector<uint8_t>& request, uint32_t seq,
    const std::function<void(const TcpSocketRecord&)>& on_socket) {
  int error = 0;
  size_t delivered = 0;
  Status status = run_dump(
      request, seq,
      [&](const TcpSocketRecord& r) {
        ++delivered;
        on_socket(r);
      },
      error);
  if (status || error == 0 || delivered > 0) return status;
  return std::nullopt;
}

Result<TcpStateCounts> SockDiagSocket::count_states() {
  TcpStateCounts counts{};
  Status status = dump_all(kAllTcpStates, 0, [&counts](const TcpSocketRecord& record) {
    // A timewait socket (timer 3) is time_wait whatever its substate, as in
    // the tracked counts (see TcpStateCounter).
    const uint8_t state = record.timer == kDiagTimerTimeWait ? kTcpTimeWait : record.state;
    if (state < counts.size()) ++counts[state];
  });
  if (!status) return status;
  return counts;
}

Result<uint32_t> namespace_inode(const std::string& netns_path) {
  struct stat st {};
  if (::stat(netns_path.c_str(), &st) != 0) {
    return Status::error("network namespace " + netns_path + ": " + errno_text(errno) +
                         " (use a path like /run/netns/NAME or /proc/PID/ns/net)");
  }
  return static_cast<uint32_t>(st.st_ino);
}

}  // namespace netobs
