// NETLINK_SOCK_DIAG for TCP sockets: building inet_diag dump requests,
// parsing the kernel's answers (inet_diag_msg + tcp_info, socket memory,
// congestion control), and a small client that runs a dump, optionally inside
// another network namespace. The request builder and the parser are pure and
// fuzzed; a SockDiagSocket is used by one thread at a time.
#pragma once

#include <linux/tcp.h>  // the full tcp_info; do not mix with <netinet/tcp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"

namespace netobs {

// TCP states as the kernel numbers them (include/net/tcp_states.h); the dump
// reports request sockets (TCP_NEW_SYN_RECV) as SYN_RECV.
inline constexpr uint8_t kTcpEstablished = 1;
inline constexpr uint8_t kTcpSynSent = 2;
inline constexpr uint8_t kTcpSynRecv = 3;
inline constexpr uint8_t kTcpTimeWait = 6;
inline constexpr uint8_t kTcpClose = 7;
inline constexpr uint8_t kTcpListen = 10;
inline constexpr uint8_t kTcpMaxState = 11;  // TCP_CLOSING
// idiag_timer of a timewait socket (inet_twsk_diag_fill).
inline constexpr uint8_t kDiagTimerTimeWait = 3;
// Every state 1..11 (bit n = state n) plus NEW_SYN_RECV (12).
inline constexpr uint32_t kAllTcpStates = 0x1FFE;

// "established", "syn_sent", ..., "closing"; "unknown" outside 1..12.
std::string_view tcp_state_name(uint8_t state);
// Accepts the names above and ss's spelling ("syn-sent", "time-wait").
std::optional<uint8_t> parse_tcp_state(std::string_view name);

// tcp_info as far as the kernel filled it: fields past `info_len` are zero.
// The struct is the uapi one of the build machine; a newer kernel's longer
// struct is cut to it, an older kernel's shorter one leaves the tail zero.
struct TcpSocketRecord {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t state = 0;
  uint8_t timer = 0;
  uint8_t retrans = 0;
  std::array<uint8_t, 16> local_addr{};  // network order; IPv4 in the first 4 bytes
  std::array<uint8_t, 16> remote_addr{};
  uint16_t local_port = 0;  // host order
  uint16_t remote_port = 0;
  uint32_t ifindex = 0;
  uint64_t cookie = 0;
  uint32_t expires_ms = 0;
  uint32_t rqueue = 0;  // LISTEN: accept queue length; else bytes not yet read
  uint32_t wqueue = 0;  // LISTEN: backlog; else bytes not yet acknowledged
  uint32_t uid = 0;
  uint32_t inode = 0;

  bool has_info = false;
  size_t info_len = 0;  // bytes the kernel sent (may exceed sizeof(tcp_info))
  tcp_info info{};

  bool has_skmem = false;  // SK_MEMINFO_* (linux/sock_diag.h), 9 values
  std::array<uint32_t, 9> skmem{};

  std::string congestion;  // INET_DIAG_CONG, e.g. "cubic"

  // "127.0.0.1" / "::1" (IPv4-mapped IPv6 shown as IPv4 too).
  std::string local_ip() const;
  std::string remote_ip() const;
};

// Extensions to ask for (bit n-1 = INET_DIAG_* attribute n).
inline constexpr uint8_t kDiagExtMeminfo = 1 << 0;  // INET_DIAG_MEMINFO
inline constexpr uint8_t kDiagExtInfo = 1 << 1;     // INET_DIAG_INFO (tcp_info)
inline constexpr uint8_t kDiagExtCong = 1 << 3;     // INET_DIAG_CONG
inline constexpr uint8_t kDiagExtSkmem = 1 << 6;    // INET_DIAG_SKMEMINFO

// One SOCK_DIAG_BY_FAMILY dump request (nlmsghdr + inet_diag_req_v2) for
// TCP sockets of `family` in the states of the `states` bit mask.
std::vector<uint8_t> build_tcp_dump_request(uint8_t family, uint32_t states, uint8_t extensions,
                                            uint32_t seq);

// The same dump for both families in one request: the older TCPDIAG_GETSOCK
// message (inet_diag_req) makes the kernel dump with family AF_UNSPEC, so it
// walks the TCP hash tables once instead of once per family. Answers arrive
// as TCPDIAG_GETSOCK messages, IPv4 and IPv6 interleaved.
std::vector<uint8_t> build_tcp_dump_request_any_family(uint32_t states, uint8_t extensions,
                                                       uint32_t seq);

// An inet_diag bytecode filter (INET_DIAG_REQ_BYTECODE) keeping sockets
// whose local port is `port`: the kernel then skips tcp_info and the other
// attributes of every other socket.
std::vector<uint8_t> build_local_port_bytecode(uint16_t port);
// Appends `bytecode` to a request from the builders above as its
// INET_DIAG_REQ_BYTECODE attribute.
void append_bytecode(std::vector<uint8_t>& request, const std::vector<uint8_t>& bytecode);

enum class DumpProgress { kMore, kDone, kError };

struct DumpParseResult {
  DumpProgress progress = DumpProgress::kMore;
  int error = 0;         // errno from NLMSG_ERROR (positive), when kError
  size_t sockets = 0;    // records delivered
  size_t malformed = 0;  // messages or attributes skipped as malformed
};

// Parses one recv() worth of netlink messages. Messages of another sequence
// number are ignored; a message that does not fit the buffer stops the parse
// (counted as malformed). Never reads outside `data`.
DumpParseResult parse_tcp_dump(std::span<const uint8_t> data, uint32_t seq,
                               const std::function<void(const TcpSocketRecord&)>& on_socket);

// Sockets counted by state (index = state number, 0..12).
using TcpStateCounts = std::array<uint64_t, 13>;

// A NETLINK_SOCK_DIAG socket. Owned by one collector or command; not
// thread-safe (one dump at a time).
class SockDiagSocket {
 public:
  // In the caller's network namespace.
  static Result<SockDiagSocket> open();
  // In the network namespace of `netns_path` (e.g. /run/netns/x): the socket
  // is created on a short-lived thread that joined that namespace, and keeps
  // answering for it. Needs CAP_SYS_ADMIN.
  static Result<SockDiagSocket> open_in_namespace(const std::string& netns_path);

  // Dumps TCP sockets of one family (AF_INET or AF_INET6).
  Status dump(uint8_t family, uint32_t states, uint8_t extensions,
              const std::function<void(const TcpSocketRecord&)>& on_socket);
  // Both families; `extensions` as above. One walk of the kernel's tables
  // where the kernel takes the TCPDIAG_GETSOCK request (families
  // interleaved), else one dump per family (IPv4 first).
  Status dump_all(uint32_t states, uint8_t extensions,
                  const std::function<void(const TcpSocketRecord&)>& on_socket);
  // The same, asking the kernel for sockets with this local port only (it
  // may send more where it refuses the filter: callers still check).
  Status dump_all(uint32_t states, uint8_t extensions, std::optional<uint16_t> local_port,
                  const std::function<void(const TcpSocketRecord&)>& on_socket);
  // Counts every TCP socket (both families) by state, no extensions; timewait
  // sockets count as TIME_WAIT whatever their substate.
  Result<TcpStateCounts> count_states();

 private:
  explicit SockDiagSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends `request` (sequence `seq`) and parses the answers to the end.
  // `error` gets the kernel's errno when it refused the dump.
  Status run_dump(const std::vector<uint8_t>& request, uint32_t seq,
                  const std::function<void(const TcpSocketRecord&)>& on_socket, int& error);
  // run_dump() of an optional request kind (the any-family request, the
  // port bytecode); nullopt when the kernel refused it before sending any
  // socket, i.e. it does not know that kind and the caller falls back.
  std::optional<Status> run_optional_dump(
      const std::vector<uint8_t>& request, uint32_t seq,
      const std::function<void(const TcpSocketRecord&)>& on_socket);
  UniqueFd fd_;
  bool any_family_ = true;   // cleared when the kernel refuses TCPDIAG_GETSOCK
  bool port_filter_ = true;  // cleared when it refuses the port bytecode
  uint32_t seq_ = 0;
  std::vector<uint8_t> buffer_;
};

// Inode number of a namespace file (what BPF sees as net->ns.inum).
Result<uint32_t> namespace_inode(const std::string& netns_path);

}  // namespace netobs
