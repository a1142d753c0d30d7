// InterfaceAttachments: where a collector's packet programs run (dns: tc
// ingress + egress; security: the DNS-answer check, tc ingress only). The tc
// mode puts them on every selected interface of the network namespace (tcx
// links, or clsact filters before Linux 6.6), follows interfaces as they
// appear and disappear (LinkWatcher), and falls back, per interface, to a
// packet socket bound to it with the socket filter when tc cannot attach
// there (or the device has no Ethernet header). The socket-filter mode is
// one packet socket on every interface. Everything happens in the network
// namespace of the thread that calls start (the watcher thread inherits it).
// Owned by a collector; start and stop on the main thread (or a thread in
// the watched namespace), summary() from scrapes, reconcile on the watcher
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "exporter/bpf/skeleton.h"
#include "exporter/net/interface_selector.h"
#include "exporter/net/link_watcher.h"
#include "exporter/net/tc_attachment.h"
#include "exporter/status.h"

namespace netobs {

// An AF_PACKET socket with `prog_fd` as its filter, bound to `ifindex`
// (0: every interface of this network namespace).
Result<UniqueFd> open_filtered_packet_socket(int prog_fd, int ifindex);

class InterfaceAttachments {
 public:
  struct Programs {
    int tc_ingress = -1;
    int tc_egress = -1;  // -1: ingress only
    int socket_filter = -1;
    TcSlot ingress_slot, egress_slot;  // see TcSlot
  };
  enum class Mode { kTc, kSocketFilter };

  // What is attached now (for netobs_bpf_program_attached).
  struct Summary {
    size_t tc_interfaces = 0;      // with the tc programs
    size_t socket_interfaces = 0;  // with a packet socket of their own
    bool all_interfaces_socket = false;
    std::string tc_kind;  // "tcx" or "tc_clsact"; "" before the first tc attach
  };

  InterfaceAttachments() = default;
  ~InterfaceAttachments() { stop(); }
  InterfaceAttachments(const InterfaceAttachments&) = delete;
  InterfaceAttachments& operator=(const InterfaceAttachments&) = delete;

  // kTc: attaches to every interface `interfaces` selects now and starts
  // following them; allow_tcx false forces clsact. kSocketFilter: one packet
  // socket on every interface, or, when `interfaces` leaves some out, one
  // per selected interface (followed like tc). `collector` names the owner
  // in log lines and errors.
  Status start(std::string collector, Programs programs, Mode mode, bool allow_tcx,
               InterfaceSelector interfaces = {});
  // Stops following interfaces and detaches everything (tcx links closed,
  // clsact filters removed, sockets closed).
  void stop();
  Summary summary() const;
  // Interface name -> attach kind (tcx, tc_clsact, socket_filter; "" when
  // nothing could attach). Empty in the socket-filter mode.
  std::map<std::string, std::string> interfaces() const;

 private:
  struct Interface {
    std::string name;
    TcAttachment ingress, egress;
    UniqueFd socket;     // the per-interface fallback
    std::string attach;  // tcx, tc_clsact, socket_filter, "" (failed)
    std::string reason;  // why nothing attached (logged when it changes)
  };

  void reconcile();
  void attach(int ifindex, Interface& iface);

  std::string collector_;
  Programs programs_;
  bool allow_tcx_ = true;
  bool socket_only_ = false;  // kSocketFilter per interface
  InterfaceSelector selector_;
  LinkWatcher watcher_;
  UniqueFd all_socket_;  // kSocketFilter

  mutable std::mutex mu_;  // interfaces_, stopping_
  std::map<int, Interface> interfaces_;
  bool stopping_ = false;
};

}  // namespace netobs
