/* The flows collector's kernel/user contract, shared by bpf/flows.bpf.c and
 * collectors/flows/. The ONE definition of each struct; plain __u32/__u64
 * with explicit padding, no vmlinux.h.
 */
#ifndef NETOBS_BPF_FLOWS_H_
#define NETOBS_BPF_FLOWS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NETOBS_FLOWS_COMM_LEN 16 /* TASK_COMM_LEN */

/* Who the client of an edge is. */
enum netobs_flows_client_kind {
  NETOBS_FLOWS_CLIENT_OTHER = 0,   /* the `other` edge: beyond max_edges */
  NETOBS_FLOWS_CLIENT_PROCESS = 1, /* a local process (comm, cgroup_id) that connected */
  NETOBS_FLOWS_CLIENT_ADDRESS = 2, /* a remote address that connected to a local listener */
  NETOBS_FLOWS_CLIENT_SERVICE = 3, /* a remote address folded into a configured service */
};

/* Who the server of an edge is. */
enum netobs_flows_server_kind {
  NETOBS_FLOWS_SERVER_OTHER = 0,
  NETOBS_FLOWS_SERVER_ADDRESS = 1, /* server_addr:server_port */
  NETOBS_FLOWS_SERVER_SERVICE = 2, /* configured service server_service (port kept) */
};

/* The transport of an edge (0: TCP, so keys built before UDP existed stay valid). */
enum netobs_flows_transport {
  NETOBS_FLOWS_TRANSPORT_TCP = 0,
  NETOBS_FLOWS_TRANSPORT_UDP = 1,
};

/* One edge client -> server (key of the per-CPU hash `edges`). Addresses
 * are IPv6 or IPv4-mapped (::ffff:a.b.c.d), network order. Unused fields
 * are zero, so equal edges have equal bytes. */
struct netobs_flows_edge_key {
  __u8 client_kind;
  __u8 server_kind;
  __u16 server_port; /* host order; kept for folded services (protocol) */
  __u32 client_service;
  __u32 server_service;
  __u32 transport; /* enum netobs_flows_transport */
  __u64 cgroup_id; /* process clients, when keyed by cgroup (0 today) */
  char comm[NETOBS_FLOWS_COMM_LEN];
  __u8 client_addr[16];
  __u8 server_addr[16];
};

/* Per-CPU counters of one edge. Bytes, retransmissions and RTT are read from
 * the socket when the connection closes (tcp_sock bytes_sent - bytes_retrans,
 * bytes_received, total_retrans, srtt_us), so a long-lived connection shows
 * them when it ends; failed connects add their SYN retransmissions. */
struct netobs_flows_edge_stats {
  __u64 opened;          /* became established */
  __u64 failed;          /* SYN_SENT or SYN_RECV -> CLOSE */
  __u64 closed;          /* established (or later) -> CLOSE */
  __u64 bytes_to_server; /* payload bytes client -> server */
  __u64 bytes_to_client; /* payload bytes server -> client */
  __u64 retransmits;     /* segments retransmitted by the local end */
  __u64 rtt_sum_us;      /* smoothed RTT at close, summed over connections */
  __u64 rtt_count;
  __u64 resets; /* RSTs sent or received on the connection */
  /* UDP edges only: datagrams each way, counted as they pass (bytes too). */
  __u64 packets_to_server;
  __u64 packets_to_client;
};

/* Edges live in two maps: the hash `edge_ids` (edge key -> slot, given out
 * in order from 1 by the kernel) and the per-CPU array `edge_stats` (slot
 * -> counters), so the per-socket record is a slot and the events after the
 * first read an array, not an 80-byte-key hash. Slot 0 is the `other` edge:
 * connections of edges beyond max_edges. */
#define NETOBS_FLOWS_OTHER_SLOT 0

/* Where a tracked socket is in its life (netobs_flows_sock.state). */
enum netobs_flows_sock_state {
  NETOBS_FLOWS_SOCK_NONE = 0,       /* not counted (filtered out, or closed) */
  NETOBS_FLOWS_SOCK_CONNECTING = 1, /* SYN_SENT: comm kept, edge chosen at ESTABLISHED */
  NETOBS_FLOWS_SOCK_ON_EDGE = 2,    /* counted on edge `slot` */
};

/* The record of a tracked socket. An active connection's edge is chosen
 * when it is established or fails, once its route (and so its interface) is
 * known; SYN_SENT only keeps the connecting task's comm. Records live in the
 * array `sock_table`: sets of NETOBS_FLOWS_SOCK_WAYS records, a socket's set
 * chosen by a hash of its address, each record tagged with its socket. A
 * socket whose set is full goes to the LRU hash `socks` (key: socket
 * address) instead. */
struct netobs_flows_sock {
  __u32 slot;
  __u8 passive; /* 1: the local end is the server */
  __u8 state;   /* enum netobs_flows_sock_state */
  __u16 resets; /* resets seen while CONNECTING, added to the edge once chosen */
  __u64 cgroup_id;
  char comm[NETOBS_FLOWS_COMM_LEN];
};

#define NETOBS_FLOWS_SOCK_WAYS 4

/* Value of the map `seeded` (key: socket cookie): a connection that existed
 * before start, from a sock_diag dump; its edge gets a slot when it closes. */
struct netobs_flows_seed {
  struct netobs_flows_edge_key edge;
  __u8 passive;
  __u8 pad[7];
};

/* UDP: one "connection" per 5-tuple seen by a local socket (key of the
 * LRU hash `udp_flows`; addresses IPv6 or IPv4-mapped, ports host order).
 * The first datagram tells the client: sent by the local socket -> the local
 * process is the client; received -> the remote address is. The flow joins
 * its edge when the first datagram the other way (the reply) is seen. */
struct netobs_flows_udp_key {
  __u8 local_addr[16];
  __u8 remote_addr[16];
  __u16 local_port;
  __u16 remote_port;
  __u32 pad;
};

enum netobs_flows_udp_state {
  NETOBS_FLOWS_UDP_PENDING = 0,  /* no reply yet: datagrams kept in the flow */
  NETOBS_FLOWS_UDP_REPLIED = 1,  /* counted on edge `slot` */
  NETOBS_FLOWS_UDP_FILTERED = 2, /* skipped by the network filters */
  NETOBS_FLOWS_UDP_JOINING = 3,  /* a CPU is giving it its edge (the first reply) */
};

/* state and slot form the first 64-bit word, changed with one
 * compare-and-exchange (PENDING -> JOINING) and one store (-> REPLIED). */
struct netobs_flows_udp_flow {
  __u32 state; /* enum netobs_flows_udp_state */
  __u32 slot;
  __u8 local_client; /* 1: the local socket sent first */
  __u8 pad[7];
  __u64 pending_packets; /* client -> server datagrams before the reply */
  __u64 pending_bytes;
  __u64 cgroup_id; /* the local socket's cgroup (local clients) */
  char comm[NETOBS_FLOWS_COMM_LEN];
};

/* Keys of the LPM trie `services`: an address (IPv6 or
 * IPv4-mapped) followed by a port (network order). A service entry for
 * an address:port has prefixlen 144, an address 128, a CIDR 96+n (IPv4) or
 * n; lookups use 144 (servers) or 128 (clients: no port). */
struct netobs_flows_lpm_key {
  __u32 prefixlen;
  __u8 addr[16];
  __u8 port[2];
  __u8 pad[2];
};

/* Indices of the per-CPU array `counters`. */
enum netobs_flows_counter {
  NETOBS_FLOWS_FOLDED = 0,    /* connections counted in the `other` edge */
  NETOBS_FLOWS_FILTERED = 1,  /* connections skipped by the CIDR/port filters */
  NETOBS_FLOWS_UNTRACKED = 2, /* socks updates that failed */
  NETOBS_FLOWS_UDP_FLOWS = 3, /* UDP 5-tuples seen; those never answered get no edge */
  NETOBS_FLOWS_COUNTER_COUNT = 4,
};

#endif /* NETOBS_BPF_FLOWS_H_ */
