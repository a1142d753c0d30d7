/* The security collector's kernel/user contract, shared by
 * bpf/security.bpf.c and collectors/security/. The ONE definition of each
 * struct; plain __u32/__u64 with explicit padding, no vmlinux.h.
 */
#ifndef NETOBS_BPF_SECURITY_H_
#define NETOBS_BPF_SECURITY_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NETOBS_SEC_COMM_LEN 16

/* Keys of the LPM tries (blocklists, address classes): prefix length in
 * bits, then the address in network order. IPv4-mapped IPv6 peers are
 * looked up in the IPv4 tries. */
struct netobs_sec_lpm_v4 {
  __u32 prefixlen;
  __u8 addr[4];
};
struct netobs_sec_lpm_v6 {
  __u32 prefixlen;
  __u8 addr[16];
};

/* Value of the blocklist tries: which list (index in the config's
 * `blocklists`) and which line of it holds the entry. */
struct netobs_sec_block_value {
  __u32 list;
  __u32 line;
};

/* `block_prefixes`: one bit per leading 16 bits of an address (an IPv4 /16,
 * an IPv6 /16) that some blocklist entry covers; the DNS-answer filter skips
 * the trie lookup of an answer whose bit is clear. User space sets the bits
 * of old and new entries before loading the tries and clears stale bits
 * after removing their entries, so a listed address always has its bit. */
#define NETOBS_SEC_PREFIX_WORDS 1024 /* 65536 bits */
struct netobs_sec_block_prefixes {
  __u64 v4[NETOBS_SEC_PREFIX_WORDS];
  __u64 v6[NETOBS_SEC_PREFIX_WORDS];
};

/* Value bits of the address-class tries (internal ranges and the global
 * include/exclude CIDR filters, merged by user space so that the longest
 * match carries every bit that applies to it). */
#define NETOBS_SEC_CLASS_INTERNAL 1u
#define NETOBS_SEC_CLASS_EXCLUDED 2u /* network.exclude_cidrs, or outside include_cidrs */

/* `filtered_addrs`: local addresses of interfaces that network.interfaces /
 * exclude_interfaces leave out (value: the ifindex). The connection's local
 * address stands for its interface: a connect's route is attached to the
 * socket only after the SYN_SENT transition (IPv4), but the source address
 * the route lookup chose is already set. */
struct netobs_sec_addr_key {
  __u32 family; /* AF_INET: the first 4 bytes of addr */
  __u8 addr[16];
};

/* Value bits of the port hash (peer port). */
#define NETOBS_SEC_PORT_SUSPICIOUS 1u
#define NETOBS_SEC_PORT_EXCLUDED 2u /* network.exclude_ports, or outside include_ports */

/* What a connection matched (event `matches`). */
#define NETOBS_SEC_MATCH_BLOCKLIST 1u
#define NETOBS_SEC_MATCH_PORT 2u
#define NETOBS_SEC_MATCH_EXTERNAL 4u
#define NETOBS_SEC_MATCH_DNS_BLOCKLIST 8u /* a DNS answer's address is on a blocklist */

#define NETOBS_SEC_OUTBOUND 0
#define NETOBS_SEC_INBOUND 1
#define NETOBS_SEC_DNS_ANSWER 2 /* a struct netobs_sec_dns_event */

/* One detection, through the ring buffer `events`. For outbound
 * connections the task is the one that called connect(); inbound
 * handshakes complete in softirq, so tgid/comm there are 0/"" and user
 * space finds the listener's owner. */
struct netobs_sec_event {
  __u64 ktime_ns;  /* bpf_ktime_get_ns */
  __u64 cgroup_id; /* the task's cgroup v2 id (container attribution); 0 inbound */
  __u32 tgid;
  __u32 netns; /* network namespace inode */
  __u32 matches;
  __u32 block_list; /* with MATCH_BLOCKLIST: the list and line that matched */
  __u32 block_line;
  __u16 family; /* 2 AF_INET, 10 AF_INET6 (never IPv4-mapped: those are AF_INET) */
  __u16 direction;
  __u16 peer_port;  /* host order */
  __u16 local_port; /* host order */
  __u32 pad;
  __u8 peer[16];
  __u8 local[16];
  char comm[NETOBS_SEC_COMM_LEN];
};

/* A DNS response (UDP, from the DNS port) whose A/AAAA answer is on a
 * blocklist, seen by the socket filter on a packet socket in the watched
 * namespace: e.peer is the answering server, e.local the client, e.tgid/
 * comm/cgroup_id the task that last sent a query from that client port
 * (sock_send_length, table `dns_clients`; 0/"" when unknown). */
#define NETOBS_SEC_DNS_NAME_MAX 256
struct netobs_sec_dns_event {
  struct netobs_sec_event e; /* direction NETOBS_SEC_DNS_ANSWER */
  __u8 answer[16];           /* the blocklisted address (IPv4: first 4 bytes) */
  __u16 answer_family;
  __u16 name_len; /* bytes of `name`: the question name in wire format */
  __u32 pad2;
  __u8 name[NETOBS_SEC_DNS_NAME_MAX];
};

/* `dns_clients`: who sends DNS queries from a local port. */
struct netobs_sec_dns_client_key {
  __u32 netns;
  __u16 port; /* local port, host order */
  __u16 pad;
};
struct netobs_sec_dns_client {
  __u64 cgroup_id;
  __u32 tgid;
  __u32 pad;
  char comm[NETOBS_SEC_COMM_LEN]; /* the process (group leader), not the thread */
};

/* Per-CPU counters (array `counters`). */
enum netobs_sec_counter {
  NETOBS_SEC_CONNECTIONS_CHECKED = 0,   /* connects and accepts looked at */
  NETOBS_SEC_EVENTS_LOST = 1,           /* ring buffer full */
  NETOBS_SEC_DNS_RESPONSES_CHECKED = 2, /* DNS responses whose answers were looked at */
  NETOBS_SEC_COUNTER_COUNT = 3,
};

#endif /* NETOBS_BPF_SECURITY_H_ */
