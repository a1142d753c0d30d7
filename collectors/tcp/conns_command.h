// `netobs conns`: TCP connections with the kernel's tcp_info, socket memory,
// state and owning process, read over NETLINK_SOCK_DIAG (not by running ss);
// filters, sorting, --interval deltas, --json, and --explain (the health checks'
// per-connection diagnosis with the system ratios of the snmp collector).
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "exporter/net/process_owners.h"
#include "exporter/net/sock_diag.h"
#include "exporter/status.h"
#include "exporter/subcommand.h"

namespace netobs {

// Where the command gets its data; tests substitute records and counters.
// Called on the command's thread only.
class ConnsSource {
 public:
  virtual ~ConnsSource() = default;
  // Every TCP socket (both families, all states) with tcp_info and skmem.
  virtual Result<std::vector<TcpSocketRecord>> dump() = 0;
  virtual std::unordered_map<uint32_t, std::vector<SocketOwner>> owners(
      const std::unordered_set<uint32_t>& inodes) = 0;
  // Called before dump() when owners() will follow: a source may start
  // finding owners meanwhile (on another thread). `many`: most sockets will
  // be shown (no --top), so their owners may be found before the dump says
  // which.
  virtual void prefetch_owners(bool many) { (void)many; }
  // /proc/net/snmp + netstat of the namespace looked at.
  virtual MibSnapshot counters() = 0;
  virtual double monotonic_seconds() = 0;
  virtual void sleep_for(double seconds) = 0;
};

// The machine: a sock_diag socket in the current namespace, <procfs>.
class SystemConnsSource final : public ConnsSource {
 public:
  static Result<std::unique_ptr<SystemConnsSource>> open(std::string procfs);
  Result<std::vector<TcpSocketRecord>> dump() override;
  std::unordered_map<uint32_t, std::vector<SocketOwner>> owners(
      const std::unordered_set<uint32_t>& inodes) override;
  // Loads the socket_owners iterator on a second thread while dump() runs
  // (and with `many` walks every socket there too, as a walk for more
  // inodes than its kernel-side filter holds would); owners() waits for it.
  void prefetch_owners(bool many) override;
  ~SystemConnsSource() override;
  MibSnapshot counters() override;
  double monotonic_seconds() override;
  void sleep_for(double seconds) override;
  // Whether dump() asks for INET_DIAG_CONG (default: yes).
  void set_congestion(bool on) { congestion_ = on; }
  // --local-port: dump() asks the kernel for that port only (a pre-filter;
  // the command still applies every filter).
  void set_local_port(std::optional<uint16_t> port) { local_port_ = port; }
  // How owners() found the owners so far: "bpf_iter" (the socket_owners
  // iterator), "proc" (the /proc/*/fd walk, where the iterator cannot load
  // or --path.procfs is not /proc), or "" before the first call.
  const std::string& owner_method() const { return owner_method_; }

 private:
  SystemConnsSource(SockDiagSocket diag, std::string procfs)
      : diag_(std::move(diag)), procfs_(std::move(procfs)) {}
  SockDiagSocket diag_;
  std::string procfs_;
  bool congestion_ = true;
  std::optional<uint16_t> local_port_;
  size_t last_count_ = 0;  // sockets in the previous dump, to size the next
  // Chooses the owner method on first use (the iterator, else the /proc
  // walk, with the reason kept for the log line).
  void open_owner_iterator();
  std::unique_ptr<SocketOwnerIterator> owner_iterator_;
  std::string owner_method_;
  std::string owner_fallback_reason_;
  std::future<Status> prefetch_;  // the thread loading the iterator
  SocketOwnerMap prefetched_;     // every socket's owners, when it walked
};

std::string conns_usage();

// The tcp collector's subcommands (`netobs conns`), on the real machine.
std::vector<Subcommand> tcp_subcommands();

// `args` are the arguments after `conns`. Exit code: 0 ok, 1 runtime
// failure (sock_diag refused, namespace not found), 2 usage error.
int run_conns_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_conns_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      ConnsSource& source);

}  // namespace netobs
