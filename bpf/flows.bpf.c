// SPDX-License-Identifier: GPL-2.0
/* netobs flows collector: TCP connections aggregated into edges
 * client -> server in a per-CPU hash, from the connection life cycle
 * (sock:inet_sock_set_state) and resets (tcp:tcp_receive_reset,
 * tcp:tcp_send_reset). Direction comes from who sent the SYN: a socket that
 * enters SYN_SENT belongs to a local client (its process's comm); one that
 * goes SYN_RECV -> ESTABLISHED was accepted by a local server. Bytes,
 * retransmissions and RTT are read from the socket once, when it closes, so
 * nothing runs per packet.
 *
 * Every event has three rungs (tp_btf, raw_tp, tracepoint); all read with
 * BPF_CORE_READ (the events are per connection, not per segment).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "flows.h"
#include "lib/network_filter.h"

#define AF_INET 2
#define AF_INET6 10

/* Set through skel->rodata before load. */
const volatile __u32 target_netns = 0; /* network namespace inode number; 0: all */
const volatile __u8 use_services = 0;  /* the services trie has entries */
const volatile __u8 key_cgroup = 0;    /* key process clients by cgroup id too */
const volatile __u8 key_comm = 1;      /* key process clients by comm (attribution != none) */
const volatile __u32 max_edges = 300;
/* UDP: the network namespace's cookie (SO_NETNS_COOKIE); 0: all. */
const volatile __u64 target_netns_cookie = 0;
/* Only UDP datagrams and TCP connections through the interfaces in
 * `interfaces` (network.interfaces minus exclude_interfaces, resolved at start). */
const volatile __u8 filter_interfaces = 0;
/* sock_table's sets - 1 (a power of two less one). */
const volatile __u32 sock_set_mask = 16383;

/* Edge key -> slot (see flows.h); max_entries = max_edges. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 300);
  __type(key, struct netobs_flows_edge_key);
  __type(value, __u32);
} edge_ids SEC(".maps");

/* Slot -> counters; max_entries = max_edges + 1 (slot 0: `other`). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 301);
  __type(key, __u32);
  __type(value, struct netobs_flows_edge_stats);
} edge_stats SEC(".maps");

/* Slots given out so far (shared by every CPU, advanced without atomics:
 * `slot_owner` settles races). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} slots_used SEC(".maps");

/* Which slots are taken: the insert (BPF_NOEXIST) is atomic, so two CPUs
 * that read the same slots_used cannot both own a slot. max_entries =
 * max_edges. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 300);
  __type(key, __u32);
  __type(value, __u8);
} slot_owner SEC(".maps");

/* Slots user space took back from edges idle for attribution.label_idle_time
 * (their edge_ids entry deleted, counters zeroed), handed out again once
 * slots_used reached max_edges. Only the miss path of edge_slot reads it.
 * max_entries = max_edges. */
struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 300);
  __type(value, __u32);
} free_slots SEC(".maps");

/* The records of tracked sockets (see flows.h): set-associative, so the
 * common case is an array lookup the verifier inlines and a compare per
 * way, instead of hash inserts, lookups and deletes (the LRU hash cost
 * ~1x an empty program per event). A way is claimed with a compare-and-swap
 * of its tag (sockets of one set change state on different CPUs at once)
 * and released at close; one socket's events are serialised by its lock.
 * max_entries = sock_set_mask + 1. */
struct sock_set {
  __u64 owner[NETOBS_FLOWS_SOCK_WAYS]; /* the socket of each way; 0: free */
  __u32 spilled;                       /* records of this set's sockets in `socks` (never less) */
  __u32 pad;
  struct netobs_flows_sock rec[NETOBS_FLOWS_SOCK_WAYS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, struct sock_set);
} sock_table SEC(".maps");

/* Sockets whose set was full, keyed by address. LRU: when full, the oldest
 * go and their close is not counted (counted in UNTRACKED when the insert
 * itself fails). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct netobs_flows_sock);
} socks SEC(".maps");

/* Connections that existed before start, keyed by socket cookie (filled by
 * user space from one sock_diag dump). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct netobs_flows_seed);
} seeded SEC(".maps");

/* Configured services: address, CIDR or address:port -> service id >= 1. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __type(key, struct netobs_flows_lpm_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_FLOWS_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

/* Scratch space for building an edge key off the stack. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct netobs_flows_edge_key);
} scratch SEC(".maps");

/* UDP flows by 5-tuple (see flows.h); max_entries =
 * max_tracked_connections. LRU: the oldest flows go when it is full. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct netobs_flows_udp_key);
  __type(value, struct netobs_flows_udp_flow);
} udp_flows SEC(".maps");

/* Per CPU, a direct-mapped cache of answered or filtered flows: 5-tuple ->
 * what it counts on, so a flow's datagrams after its reply skip the
 * udp_flows lookup (a helper call and a hash of a 40-byte key). A line is
 * valid for one generation: user space bumps udp_generation when it takes
 * edge slots back (after deleting the udp_flows entries on those slots), so
 * no line outlives its slot. `busy` keeps a program that interrupts another
 * on the same CPU (a softirq during a sender's egress) off the lines. */
#define UDP_CACHE_BITS 8
#define UDP_CACHE_LINES (1 << UDP_CACHE_BITS)

struct udp_cache_line {
  struct netobs_flows_udp_key key;
  __u32 slot;        /* edge slot, or UDP_SLOT_FILTERED */
  __u8 local_client; /* the flow's */
  __u8 pad[3];
  __u32 tag; /* udp_generation + 1 when filled; 0: empty */
  __u32 pad2;
};

struct udp_cache {
  __u32 busy;
  __u32 pad;
  struct udp_cache_line lines[UDP_CACHE_LINES];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct udp_cache);
} udp_cache SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} udp_generation SEC(".maps");

/* ifindex -> 1 for the selected interfaces (filter_interfaces). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8);
} interfaces SEC(".maps");

static __always_inline void count(__u32 index) {
  __u64* value = bpf_map_lookup_elem(&counters, &index);

  if (value) *value += 1;
}

/* `btf`: sk is BTF-typed (the tp_btf rung), so direct loads replace the
 * bpf_probe_read_kernel calls of BPF_CORE_READ; the other rungs probe-read. */
static __always_inline bool netns_ok(const struct sock* sk, bool btf) {
  if (!target_netns) return true;
  if (btf) return sk->__sk_common.skc_net.net->ns.inum == target_netns;
  return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) == target_netns;
}

/* The remote (daddr) or local (rcv_saddr) address as IPv6 / IPv4-mapped. */
static __always_inline void read_addr(const struct sock* sk, bool remote, __u8 out[16], bool btf) {
  const struct sock_common* skc = &sk->__sk_common;
  __u16 family = btf ? skc->skc_family : BPF_CORE_READ(skc, skc_family);

  if (family == AF_INET6) {
    if (btf)
      __builtin_memcpy(out, remote ? &skc->skc_v6_daddr : &skc->skc_v6_rcv_saddr, 16);
    else if (remote)
      BPF_CORE_READ_INTO((struct in6_addr*)out, skc, skc_v6_daddr);
    else
      BPF_CORE_READ_INTO((struct in6_addr*)out, skc, skc_v6_rcv_saddr);
    return;
  }
  __u32 v4;
  if (btf)
    v4 = remote ? skc->skc_daddr : skc->skc_rcv_saddr;
  else
    v4 = remote ? BPF_CORE_READ(skc, skc_daddr) : BPF_CORE_READ(skc, skc_rcv_saddr);
  __builtin_memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  __builtin_memcpy(&out[12], &v4, 4);
}

static __always_inline __u32 lpm_lookup(void* trie, const __u8 addr[16], __u16 port,
                                        __u32 prefixlen) {
  struct netobs_flows_lpm_key key = {.prefixlen = prefixlen};

  __builtin_memcpy(key.addr, addr, 16);
  key.port[0] = port >> 8;
  key.port[1] = port & 0xff;
  __u32* value = bpf_map_lookup_elem(trie, &key);
  return value ? *value : 0;
}

/* Whether a connection with this remote address and server port passes
 * network.{include,exclude}_{cidrs,ports} (lib/network_filter.h). */
static __always_inline bool filters_pass(const __u8 remote[16], __u16 server_port) {
  if (!network_filter_address_passes(remote)) return false;
  return !NETWORK_FILTER_PORTS ||
         network_filter_port_bits_pass(network_filter_port_bits(server_port));
}

/* Fills the server side: a configured service (port kept for the protocol)
 * or the address:port. */
static __always_inline void set_server(struct netobs_flows_edge_key* key, const __u8 addr[16],
                                       __u16 port) {
  key->server_port = port;
  if (use_services) {
    __u32 service = lpm_lookup(&services, addr, port, 144);

    if (service) {
      key->server_kind = NETOBS_FLOWS_SERVER_SERVICE;
      key->server_service = service;
      return;
    }
  }
  key->server_kind = NETOBS_FLOWS_SERVER_ADDRESS;
  __builtin_memcpy(key->server_addr, addr, 16);
}

/* The slot of an edge, given out on first use (in order, then slots freed
 * by user space); none left: slot 0, the `other` edge. A CPU losing the race for the same new edge
 * leaves its slot unused. */
static __always_inline __u32 edge_slot(const struct netobs_flows_edge_key* key) {
  __u32* found = bpf_map_lookup_elem(&edge_ids, key);

  if (found) return *found;
  __u32 zero = 0;
  __u32* used = bpf_map_lookup_elem(&slots_used, &zero);
  if (!used) return NETOBS_FLOWS_OTHER_SLOT;
  __u8 one = 1;
  __u32 slot = 0;
  /* A few tries: each failure means another CPU claimed that slot just now. */
  for (int i = 0; i < 4; i++) {
    __u32 next = *used + 1;

    if (next > max_edges) break;
    *used = next;
    if (bpf_map_update_elem(&slot_owner, &next, &one, BPF_NOEXIST) == 0) {
      slot = next;
      break;
    }
  }
  /* All slots given out once: a slot freed by user space, if any. */
  bool popped = false;
  if (!slot) popped = bpf_map_pop_elem(&free_slots, &slot) == 0;
  if (slot && bpf_map_update_elem(&edge_ids, key, &slot, BPF_NOEXIST) == 0) return slot;
  /* Another CPU inserted this edge first: give a freed slot back. */
  if (popped) bpf_map_push_elem(&free_slots, &slot, 0);
  found = bpf_map_lookup_elem(&edge_ids, key);
  if (found) return *found;
  count(NETOBS_FLOWS_FOLDED);
  return NETOBS_FLOWS_OTHER_SLOT;
}

/* The interface of a connection, decided once it has a route: the device
 * its packets come in on for a passive socket (sk_rx_dst_ifindex, set from
 * the SYN), the device its route goes out on for an active one (the dst
 * cached at connect); each falls back to the other. */
static __always_inline bool interface_ok(const struct sock* sk, bool passive, bool btf) {
  __u32 in, out = 0;

  if (!filter_interfaces) return true;
  if (btf) {
    const struct dst_entry* dst = sk->sk_dst_cache;

    in = sk->sk_rx_dst_ifindex;
    if (dst) out = dst->dev->ifindex;
  } else {
    in = BPF_CORE_READ(sk, sk_rx_dst_ifindex);
    out = BPF_CORE_READ(sk, sk_dst_cache, dev, ifindex);
  }
  __u32 ifindex = passive ? (in ? in : out) : (out ? out : in);
  return bpf_map_lookup_elem(&interfaces, &ifindex) != NULL;
}

/* What a TCP connection's edge follows from, before the services lookups:
 * the key of the per-CPU cache `edge_cache`. Whole 8-byte words, no holes. */
struct edge_inputs {
  __u64 cgroup_id;
  char comm[NETOBS_FLOWS_COMM_LEN];
  __u8 remote[16];
  __u8 local[16]; /* passive: the listener's address */
  __u16 port;     /* the server port */
  __u8 passive;
  __u8 pad[5];
};

struct edge_cache_entry {
  struct edge_inputs inputs;
  __u32 slot;       /* 0: empty (`other` is never cached: each fold is counted) */
  __u32 generation; /* edge_generation when filled */
};

/* Per CPU, direct-mapped: the edges of recent connections, so most skip the
 * LPM lookups and the 80-byte-key hash `edge_ids` (together ~0.3-0.45x an
 * empty program per event). 256 entries (18 KiB per CPU), near the default
 * max_edges: with 256 edges in rotation, 64 entries missed nearly always. */
#define EDGE_CACHE_BITS 8
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1 << EDGE_CACHE_BITS);
  __type(key, __u32);
  __type(value, struct edge_cache_entry);
} edge_cache SEC(".maps");

/* Bumped by user space before it takes slots back: older cache entries are void. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} edge_generation SEC(".maps");

static __always_inline bool same_inputs(const struct edge_inputs* a, const struct edge_inputs* b) {
  const __u64* x = (const __u64*)a;
  const __u64* y = (const __u64*)b;

  for (int i = 0; i < sizeof(*a) / 8; i++) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

/* A multiplicative hash of the inputs: its top `bits` bits index a cache. */
static __always_inline __u32 inputs_index(const struct edge_inputs* in, int bits) {
  const __u64* words = (const __u64*)in;
  __u64 h = 0;

  for (int i = 0; i < sizeof(*in) / 8; i++) h ^= words[i];
  return (h * 0x9E3779B97F4A7C15ULL) >> (64 - bits);
}

/* The slot of the edge these inputs make (services looked up, then
 * edge_ids); false when the scratch key is not there. */
static __always_inline bool inputs_slot(const struct edge_inputs* in, __u32 transport,
                                        __u32* slot) {
  __u32 zero = 0;
  struct netobs_flows_edge_key* key = bpf_map_lookup_elem(&scratch, &zero);

  if (!key) return false;
  __builtin_memset(key, 0, sizeof(*key));
  key->transport = transport;
  if (in->passive) {
    __u32 service = use_services ? lpm_lookup(&services, in->remote, 0, 128) : 0;

    if (service) {
      key->client_kind = NETOBS_FLOWS_CLIENT_SERVICE;
      key->client_service = service;
    } else {
      key->client_kind = NETOBS_FLOWS_CLIENT_ADDRESS;
      __builtin_memcpy(key->client_addr, in->remote, 16);
    }
    set_server(key, in->local, in->port);
  } else {
    key->client_kind = NETOBS_FLOWS_CLIENT_PROCESS;
    __builtin_memcpy(key->comm, in->comm, sizeof(key->comm));
    key->cgroup_id = in->cgroup_id;
    set_server(key, in->remote, in->port);
  }
  *slot = edge_slot(key);
  return true;
}

/* The edge slot of a connection: the local end is the client (`connecting`:
 * its SYN_SENT record, with the connecting task's comm) or the server
 * (`connecting` NULL). False when filtered out. */
static __always_inline bool build(const struct sock* sk, const struct netobs_flows_sock* connecting,
                                  bool btf, __u32* slot) {
  const bool passive = !connecting;
  struct edge_inputs in;

  __builtin_memset(&in, 0, sizeof(in));
  read_addr(sk, true, in.remote, btf);
  const struct sock_common* skc = &sk->__sk_common;
  __u16 remote_port = bpf_ntohs(btf ? skc->skc_dport : BPF_CORE_READ(skc, skc_dport));
  __u16 local_port = btf ? skc->skc_num : BPF_CORE_READ(skc, skc_num);
  in.port = passive ? local_port : remote_port;
  if (!filters_pass(in.remote, in.port) || !interface_ok(sk, passive, btf)) {
    count(NETOBS_FLOWS_FILTERED);
    return false;
  }
  in.passive = passive;
  if (passive) {
    read_addr(sk, false, in.local, btf);
  } else {
    if (key_comm) __builtin_memcpy(in.comm, connecting->comm, sizeof(in.comm));
    if (key_cgroup) in.cgroup_id = connecting->cgroup_id;
  }
  __u32 zero = 0;
  const __u32* current = bpf_map_lookup_elem(&edge_generation, &zero);
  const __u32 generation = current ? *(volatile const __u32*)current : 0;
  __u32 index = inputs_index(&in, EDGE_CACHE_BITS);
  struct edge_cache_entry* cached = bpf_map_lookup_elem(&edge_cache, &index);
  if (cached && cached->slot && cached->generation == generation &&
      same_inputs(&cached->inputs, &in)) {
    *slot = cached->slot;
    return true;
  }

  if (!inputs_slot(&in, NETOBS_FLOWS_TRANSPORT_TCP, slot)) return false;
  if (cached && *slot != NETOBS_FLOWS_OTHER_SLOT) {
    cached->inputs = in;
    cached->slot = *slot;
    cached->generation = generation;
  }
  return true;
}

static __always_inline struct netobs_flows_edge_stats* stats_of(__u32 slot) {
  return bpf_map_lookup_elem(&edge_stats, &slot);
}

/* tp_btf: the verifier types sk as a socket pointer and allows no
 * arithmetic on it (the set hash), so its value goes through this CPU's
 * slot to come back as a number. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} sock_key_scratch SEC(".maps");

/* A socket's key in sock_table and socks: its address; 0 on failure. */
static __always_inline __u64 sock_key(const struct sock* sk, bool btf) {
  if (!btf) return (__u64)sk;
  __u32 zero = 0;
  volatile __u64* slot = bpf_map_lookup_elem(&sock_key_scratch, &zero);
  if (!slot) return 0;
  *slot = (__u64)sk;
  return *slot;
}

/* Where a socket's record is: a way of its set, or the hash `socks`. */
struct sock_ref {
  struct netobs_flows_sock* rec;
  struct sock_set* set;
  __u64* owner; /* the way's tag; NULL: rec is in `socks` */
};

static __always_inline struct sock_set* set_of(__u64 key) {
  /* Multiplicative hash: sockets are slab objects, their low bits alike. */
  __u32 index = (__u32)((key * 0x9E3779B97F4A7C15ULL) >> 32) & sock_set_mask;
  return bpf_map_lookup_elem(&sock_table, &index);
}

static __always_inline __u64 owner_of(const struct sock_set* set, int way) {
  return *(volatile const __u64*)&set->owner[way];
}

/* The record of a socket, if it has one: its set's ways, then the hash
 * only when some socket of the set went there. (Socket local storage was
 * tried on the tp_btf rung: creating it per connection cost more than the
 * hash.) */
static __always_inline bool sock_rec(__u64 key, struct sock_ref* ref) {
  struct sock_set* set = key ? set_of(key) : NULL;

  if (!set) return false;
  ref->set = set;
  for (int w = 0; w < NETOBS_FLOWS_SOCK_WAYS; w++) {
    if (owner_of(set, w) == key) {
      ref->rec = &set->rec[w];
      ref->owner = &set->owner[w];
      return true;
    }
  }
  if (!set->spilled) return false;
  ref->rec = bpf_map_lookup_elem(&socks, &key);
  ref->owner = NULL;
  return ref->rec != NULL;
}

/* Removes the socket's record from the hash, keeping `spilled` an upper
 * bound of the set's records there. */
static __always_inline void unspill(struct sock_set* set, __u64 key) {
  if (bpf_map_delete_elem(&socks, &key) == 0) __sync_fetch_and_add(&set->spilled, -1);
}

/* A socket's new record (replacing a stale one of a socket freed at the same
 * address whose close was missed): a free way of its set, else the hash. */
static __always_inline void track(__u64 key, const struct netobs_flows_sock* init) {
  struct sock_set* set = key ? set_of(key) : NULL;

  if (!set) {
    count(NETOBS_FLOWS_UNTRACKED);
    return;
  }
  for (int w = 0; w < NETOBS_FLOWS_SOCK_WAYS; w++) {
    if (owner_of(set, w) == key) {
      set->rec[w] = *init;
      return;
    }
  }
  for (int w = 0; w < NETOBS_FLOWS_SOCK_WAYS; w++) {
    if (owner_of(set, w) == 0 && __sync_val_compare_and_swap(&set->owner[w], 0, key) == 0) {
      set->rec[w] = *init;
      if (set->spilled) unspill(set, key);
      return;
    }
  }
  /* Counted before the insert: a lookup that finds the record sees it. */
  __sync_fetch_and_add(&set->spilled, 1);
  if (bpf_map_update_elem(&socks, &key, init, BPF_ANY) != 0) {
    __sync_fetch_and_add(&set->spilled, -1);
    count(NETOBS_FLOWS_UNTRACKED);
  }
}

/* Drops a socket's record (read before: the way may be claimed at once). */
static __always_inline void forget(__u64 key, const struct sock_ref* ref) {
  if (ref->owner)
    __sync_lock_test_and_set(ref->owner, 0); /* an atomic exchange: ordered after the reads */
  else
    unspill(ref->set, key);
}

/* Connections older than netobs: the edge of their seed (by socket cookie),
 * given a slot on first use. False when not seeded. */
static __always_inline bool seeded_slot(const struct sock* sk, bool btf, __u64* cookie, __u32* slot,
                                        bool* passive) {
  *cookie =
      btf ? sk->__sk_common.skc_cookie.counter : BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
  if (!*cookie) return false;
  struct netobs_flows_seed* seed = bpf_map_lookup_elem(&seeded, cookie);
  if (!seed) return false;
  *slot = edge_slot(&seed->edge);
  *passive = seed->passive;
  return true;
}

/* tp_btf: a read-only view of the socket as tcp_sock (inlined by the
 * verifier; the caller checked sk_protocol), instead of a helper call. */
extern void* bpf_rdonly_cast(const void* obj, __u32 btf_id) __ksym __weak;

/* The socket's counters at close. Payload bytes as the tcp collector counts
 * them (see tcp.bpf.c): sent = bytes_sent - bytes_retrans; received =
 * bytes_received less the FIN (SOCK_DONE). */
static __always_inline void on_close(const struct sock* sk, bool passive,
                                     struct netobs_flows_edge_stats* stats, bool btf) {
  __u64 sent, received, retrans;
  __u32 srtt8;
  unsigned long flags;

  if (btf) {
    const struct tcp_sock* tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));

    sent = tp->bytes_sent - tp->bytes_retrans;
    received = tp->bytes_received;
    retrans = tp->total_retrans;
    srtt8 = tp->srtt_us;
    flags = sk->__sk_common.skc_flags;
  } else {
    const struct tcp_sock* tp = (const struct tcp_sock*)sk;

    sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
    received = BPF_CORE_READ(tp, bytes_received);
    retrans = BPF_CORE_READ(tp, total_retrans);
    srtt8 = BPF_CORE_READ(tp, srtt_us);
    flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
  }
  if (((flags >> SOCK_DONE) & 1) && received > 0) received -= 1;
  stats->closed += 1;
  stats->bytes_to_server += passive ? received : sent;
  stats->bytes_to_client += passive ? sent : received;
  stats->retransmits += retrans;
  if (srtt8) {
    stats->rtt_sum_us += srtt8 >> 3;
    stats->rtt_count += 1;
  }
}

static __always_inline __u32 total_retrans(const struct sock* sk, bool btf) {
  if (btf) {
    const struct tcp_sock* tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
    return tp->total_retrans;
  }
  return BPF_CORE_READ((const struct tcp_sock*)sk, total_retrans);
}

/* A connect that failed (refused, timed out, abandoned): its SYN
 * retransmissions count. */
static __always_inline void count_failed(const struct sock* sk, __u32 slot, __u32 resets,
                                         bool btf) {
  struct netobs_flows_edge_stats* stats = stats_of(slot);

  if (!stats) return;
  stats->failed += 1;
  stats->retransmits += total_retrans(sk, btf);
  stats->resets += resets;
}

/* `protocol` < 0: read it from the socket (only for the events that matter:
 * most transitions are none of ours and return before any read). Per
 * connection: SYN_SENT keeps the task's comm in the socket's record;
 * ESTABLISHED (or a failed open) picks the edge and counts it; CLOSE reads
 * the socket's counters. */
static __always_inline int on_set_state(const struct sock* sk, int oldstate, int newstate,
                                        int protocol, bool btf) {
  struct sock_ref ref;
  struct netobs_flows_edge_stats* stats;
  __u32 slot;
  __u64 cookie;
  bool passive;

  if (newstate == TCP_ESTABLISHED) {
    if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV) return 0;
  } else if (newstate == TCP_CLOSE) {
    if (oldstate == TCP_LISTEN || oldstate == TCP_CLOSE) return 0;
  } else if (newstate != TCP_SYN_SENT) {
    return 0;
  }
  if (!sk) return 0;
  if (protocol < 0) protocol = btf ? sk->sk_protocol : BPF_CORE_READ(sk, sk_protocol);
  if (protocol != IPPROTO_TCP || !netns_ok(sk, btf)) return 0;
  if (newstate == TCP_SYN_SENT) {
    /* Entered in connect(), in the connecting task. */
    struct netobs_flows_sock init = {.state = NETOBS_FLOWS_SOCK_CONNECTING};

    if (key_comm) bpf_get_current_comm(init.comm, sizeof(init.comm));
    if (key_cgroup) init.cgroup_id = bpf_get_current_cgroup_id();
    track(sock_key(sk, btf), &init);
    return 0;
  }
  if (oldstate == TCP_SYN_RECV) {
    if (!build(sk, NULL, btf, &slot)) return 0;
    stats = stats_of(slot);
    if (newstate == TCP_ESTABLISHED) {
      struct netobs_flows_sock init = {
          .slot = slot, .passive = 1, .state = NETOBS_FLOWS_SOCK_ON_EDGE};

      track(sock_key(sk, btf), &init);
      if (stats) stats->opened += 1;
    } else if (stats) {
      /* A passive open reset before it completed: never tracked. */
      stats->failed += 1;
    }
    return 0;
  }
  const __u64 key = sock_key(sk, btf);
  if (sock_rec(key, &ref)) {
    struct netobs_flows_sock* rec = ref.rec;

    if (rec->state == NETOBS_FLOWS_SOCK_CONNECTING) {
      if (!build(sk, rec, btf, &slot)) {
        forget(key, &ref);
        return 0;
      }
      if (newstate == TCP_CLOSE) {
        count_failed(sk, slot, rec->resets, btf);
        forget(key, &ref);
        return 0;
      }
      rec->slot = slot;
      rec->state = NETOBS_FLOWS_SOCK_ON_EDGE;
      stats = stats_of(slot);
      if (stats) {
        stats->opened += 1;
        stats->resets += rec->resets;
      }
      return 0;
    }
    if (rec->state != NETOBS_FLOWS_SOCK_ON_EDGE || newstate != TCP_CLOSE) return 0;
    stats = stats_of(rec->slot);
    if (stats) on_close(sk, rec->passive, stats, btf);
    forget(key, &ref);
    return 0;
  }
  if (!seeded_slot(sk, btf, &cookie, &slot, &passive)) return 0;
  if (newstate == TCP_ESTABLISHED) {
    stats = stats_of(slot);
    if (stats) stats->opened += 1;
    return 0;
  }
  if (oldstate == TCP_SYN_SENT) {
    count_failed(sk, slot, 0, btf);
  } else {
    stats = stats_of(slot);
    if (stats) on_close(sk, passive, stats, btf);
  }
  bpf_map_delete_elem(&seeded, &cookie);
  return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(flows_set_state_btf, const struct sock* sk, const int oldstate, const int newstate) {
  return on_set_state(sk, oldstate, newstate, -1, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(flows_set_state_raw, const struct sock* sk, const int oldstate, const int newstate) {
  return on_set_state(sk, oldstate, newstate, -1, false);
}

SEC("tracepoint/sock/inet_sock_set_state")
int flows_set_state_tp(struct trace_event_raw_inet_sock_set_state* ctx) {
  return on_set_state((const struct sock*)ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->protocol,
                      false);
}

/* ---- Resets on a tracked connection (sent or received). */

static __always_inline int on_reset(const struct sock* sk, bool btf) {
  struct netobs_flows_edge_stats* stats;
  __u64 cookie;
  __u32 slot;
  bool passive;

  if (!sk || !netns_ok(sk, btf)) return 0;
  struct sock_ref ref;
  if (sock_rec(sock_key(sk, btf), &ref)) {
    struct netobs_flows_sock* rec = ref.rec;

    if (rec->state == NETOBS_FLOWS_SOCK_CONNECTING) {
      rec->resets += 1; /* a refused connect: its edge is chosen at CLOSE */
      return 0;
    }
    if (rec->state != NETOBS_FLOWS_SOCK_ON_EDGE) return 0;
    slot = rec->slot;
  } else if (!seeded_slot(sk, btf, &cookie, &slot, &passive)) {
    return 0;
  }
  stats = stats_of(slot);
  if (stats) stats->resets += 1;
  return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(flows_receive_reset_btf, struct sock* sk) { return on_reset(sk, true); }

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(flows_receive_reset_raw, struct sock* sk) { return on_reset(sk, false); }

SEC("tracepoint/tcp/tcp_receive_reset")
int flows_receive_reset_tp(struct trace_event_raw_tcp_event_sk* ctx) {
  return on_reset((const struct sock*)ctx->skaddr, false);
}

/* sk is NULL when no socket matched (a SYN to a closed port): nothing to
 * attribute on this side (the client sees the reset). */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(flows_send_reset_btf, const struct sock* sk, const struct sk_buff* skb) {
  return on_reset(sk, true);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(flows_send_reset_raw, const struct sock* sk, const struct sk_buff* skb) {
  return on_reset(sk, false);
}

SEC("tracepoint/tcp/tcp_send_reset")
int flows_send_reset_tp(struct trace_event_raw_tcp_send_reset* ctx) {
  return on_reset((const struct sock*)ctx->skaddr, false);
}

/* ---- UDP "connections": cgroup_skb on the cgroup2 root sees every datagram
 * a local socket sends (egress, in the sender's context) or receives
 * (ingress, after the socket lookup: datagrams to closed ports never come
 * here), connected or not, with the headers. TCP and other sockets leave at
 * the first test. Always lets the packet through (returns 1). */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

struct udp_datagram {
  struct netobs_flows_udp_key key;
  __u32 payload; /* UDP length less the header */
};

/* The 5-tuple (local end first) and payload length from the headers at
 * skb->data (the network header for cgroup_skb). False: not UDP. */
static __always_inline bool parse_udp(struct __sk_buff* skb, bool egress, struct udp_datagram* d) {
  /* Direct packet reads (cgroup_skb allows them): cheaper than bpf_skb_load_bytes. */
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  struct udphdr* uh;
  __u8* local = d->key.local_addr;
  __u8* remote = d->key.remote_addr;

  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    struct iphdr* ih = data;

    if ((void*)(ih + 1) > data_end || ih->protocol != IPPROTO_UDP) return false;
    if (ih->frag_off & bpf_htons(0x1fff)) return false; /* not the first fragment */
    uh = data + ih->ihl * 4;
    __builtin_memset(local, 0, 10);
    __builtin_memset(remote, 0, 10);
    local[10] = local[11] = remote[10] = remote[11] = 0xff;
    __builtin_memcpy(&local[12], egress ? &ih->saddr : &ih->daddr, 4);
    __builtin_memcpy(&remote[12], egress ? &ih->daddr : &ih->saddr, 4);
  } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ih = data;

    /* Extension headers are not followed: such datagrams are not counted. */
    if ((void*)(ih + 1) > data_end || ih->nexthdr != IPPROTO_UDP) return false;
    uh = (void*)(ih + 1);
    __builtin_memcpy(local, egress ? &ih->saddr : &ih->daddr, 16);
    __builtin_memcpy(remote, egress ? &ih->daddr : &ih->saddr, 16);
  } else {
    return false;
  }
  if ((void*)(uh + 1) > data_end) return false;
  __u16 sport = bpf_ntohs(uh->source), dport = bpf_ntohs(uh->dest);
  d->key.local_port = egress ? sport : dport;
  d->key.remote_port = egress ? dport : sport;
  d->key.pad = 0;
  __u16 len = bpf_ntohs(uh->len);
  d->payload = len > sizeof(*uh) ? len - sizeof(*uh) : 0;
  return true;
}

/* A new flow: the first datagram's direction makes the client. */
static __always_inline void udp_new_flow(struct __sk_buff* skb, bool egress,
                                         const struct udp_datagram* d) {
  struct netobs_flows_udp_flow flow = {};

  count(NETOBS_FLOWS_UDP_FLOWS);
  flow.local_client = egress;
  if (!filters_pass(d->key.remote_addr, egress ? d->key.remote_port : d->key.local_port)) {
    count(NETOBS_FLOWS_FILTERED);
    flow.state = NETOBS_FLOWS_UDP_FILTERED;
  } else {
    flow.pending_packets = 1;
    flow.pending_bytes = d->payload;
    if (egress) {
      /* cgroup egress runs in the sending task (sendmsg) */
      if (key_comm) bpf_get_current_comm(flow.comm, sizeof(flow.comm));
      /* the cgroup of the skb's socket, as bpf_sk_cgroup_id(sk) */
      if (key_cgroup) flow.cgroup_id = bpf_skb_cgroup_id(skb);
    }
  }
  bpf_map_update_elem(&udp_flows, &d->key, &flow, BPF_NOEXIST);
}

/* Per CPU, direct-mapped: the edges of recent UDP flows (as edge_cache for
 * TCP, same generation), so a first reply mostly skips the LPM lookups and
 * the 80-byte-key hash `edge_ids`. Only used while this CPU's udp_cache is
 * held (busy), so a program interrupting another never sees a half-written
 * line. */
#define UDP_EDGE_CACHE_BITS 4
struct udp_edge_cache {
  struct edge_cache_entry lines[1 << UDP_EDGE_CACHE_BITS];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct udp_edge_cache);
} udp_edge_cache SEC(".maps");

/* The first reply: the flow gets its edge, which counts it as opened and
 * takes the datagrams it held. `cached`: this CPU's udp_cache is held. */
static __always_inline __u32 udp_join_edge(struct netobs_flows_udp_flow* flow,
                                           const struct udp_datagram* d, bool cached) {
  struct edge_inputs in;
  __u32 zero = 0;

  __builtin_memset(&in, 0, sizeof(in));
  __builtin_memcpy(in.remote, d->key.remote_addr, 16);
  if (flow->local_client) {
    __builtin_memcpy(in.comm, flow->comm, sizeof(in.comm));
    in.cgroup_id = flow->cgroup_id;
    in.port = d->key.remote_port;
  } else {
    __builtin_memcpy(in.local, d->key.local_addr, 16);
    in.port = d->key.local_port;
    in.passive = 1;
  }
  const __u32* current = bpf_map_lookup_elem(&edge_generation, &zero);
  const __u32 generation = current ? *(volatile const __u32*)current : 0;
  struct udp_edge_cache* edges = cached ? bpf_map_lookup_elem(&udp_edge_cache, &zero) : NULL;
  struct edge_cache_entry* line = NULL;
  __u32 slot = 0;
  if (edges) {
    line = &edges->lines[inputs_index(&in, UDP_EDGE_CACHE_BITS) & ((1 << UDP_EDGE_CACHE_BITS) - 1)];
    if (line->slot && line->generation == generation && same_inputs(&line->inputs, &in))
      slot = line->slot;
  }
  if (!slot) {
    if (!inputs_slot(&in, NETOBS_FLOWS_TRANSPORT_UDP, &slot)) return NETOBS_FLOWS_OTHER_SLOT;
    if (line && slot != NETOBS_FLOWS_OTHER_SLOT) {
      line->inputs = in;
      line->slot = slot;
      line->generation = generation;
    }
  }
  struct netobs_flows_edge_stats* stats = stats_of(slot);
  if (stats) {
    stats->opened += 1;
    stats->packets_to_server += flow->pending_packets;
    stats->bytes_to_server += flow->pending_bytes;
  }
  return slot;
}

/* The kernel's sk_buff behind the context (inlined by the verifier, as is
 * bpf_rdonly_cast): the socket's fields are then plain loads, where
 * bpf_sk_fullsock and bpf_get_netns_cookie are helper calls per datagram. */
extern void* bpf_cast_to_kern_ctx(void* obj) __ksym;

/* The datagram's socket when it is a full UDP socket (not a raw socket that
 * sends or sees UDP headers: those datagrams are not the UDP MIB's), else NULL. */
static __always_inline const struct sock* udp_socket(struct __sk_buff* skb) {
  const struct sk_buff* kskb = bpf_cast_to_kern_ctx(skb);
  const struct sock* sk = kskb->sk;

  if (!sk) return NULL;
  /* sk_fullsock(): a time-wait or request socket has no sk_protocol */
  const __u8 state = sk->__sk_common.skc_state;
  if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV) return NULL;
  return sk->sk_protocol == IPPROTO_UDP ? sk : NULL;
}

/* What the flow of a datagram counts on: an edge slot, or one of these. */
#define UDP_SLOT_FILTERED 0xfffffffeu /* skipped by the network filters */
#define UDP_SLOT_NONE 0xffffffffu     /* new, pending or being joined: nothing to cache */

/* The udp_flows path: a new flow is recorded, a pending one keeps the
 * datagram or is joined to its edge by its first reply. */
static __always_inline __u32 udp_flow_slot(struct __sk_buff* skb, bool egress,
                                           const struct udp_datagram* d, bool* local_client,
                                           bool cached) {
  struct netobs_flows_udp_flow* flow = bpf_map_lookup_elem(&udp_flows, &d->key);
  if (!flow) {
    udp_new_flow(skb, egress, d);
    return UDP_SLOT_NONE;
  }
  *local_client = flow->local_client;
  const bool to_server = egress == *local_client;
  /* state and slot are one 64-bit word (flows.h): read and written whole */
  __u64* word = (__u64*)&flow->state;
  __u64 now = *(volatile __u64*)word;
  if ((__u32)now == NETOBS_FLOWS_UDP_FILTERED) return UDP_SLOT_FILTERED;
  if ((__u32)now == NETOBS_FLOWS_UDP_PENDING) {
    if (to_server) {
      __sync_fetch_and_add(&flow->pending_packets, 1);
      __sync_fetch_and_add(&flow->pending_bytes, d->payload);
      return UDP_SLOT_NONE;
    }
    /* The first reply: one CPU wins the exchange and joins the edge; a
     * datagram another CPU sees meanwhile (JOINING) is not counted. */
    if (__sync_val_compare_and_swap(word, now, NETOBS_FLOWS_UDP_JOINING) != now)
      return UDP_SLOT_NONE;
    const __u32 slot = udp_join_edge(flow, d, cached);
    *(volatile __u64*)word = ((__u64)slot << 32) | NETOBS_FLOWS_UDP_REPLIED;
    return slot;
  }
  if ((__u32)now != NETOBS_FLOWS_UDP_REPLIED) return UDP_SLOT_NONE;
  return now >> 32;
}

static __always_inline __u32 udp_cache_index(const struct netobs_flows_udp_key* key) {
  __u32 remote;

  __builtin_memcpy(&remote, &key->remote_addr[12], 4);
  const __u32 h = (((__u32)key->local_port << 16) | key->remote_port) ^ remote;
  return ((h * 0x9e3779b1u) >> (32 - UDP_CACHE_BITS)) & (UDP_CACHE_LINES - 1);
}

static __always_inline bool udp_key_equal(const struct netobs_flows_udp_key* a,
                                          const struct netobs_flows_udp_key* b) {
  const __u64* x = (const __u64*)a;
  const __u64* y = (const __u64*)b;

  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

static __always_inline int on_udp(struct __sk_buff* skb, bool egress) {
  struct udp_datagram d __attribute__((aligned(8)));
  __u32 zero = 0;

  const struct sock* sk = udp_socket(skb);
  if (!sk) return 1;
  /* the network namespace's cookie, as bpf_get_netns_cookie(skb) reads it */
  if (target_netns_cookie && sk->__sk_common.skc_net.net->net_cookie != target_netns_cookie)
    return 1;
  if (filter_interfaces) {
    /* the device the datagram came in on (ingress) or goes out on (egress) */
    __u32 ifindex = skb->ifindex;

    if (!bpf_map_lookup_elem(&interfaces, &ifindex)) return 1;
  }
  if (!parse_udp(skb, egress, &d)) return 1;
  const __u32* generation = bpf_map_lookup_elem(&udp_generation, &zero);
  struct udp_cache* cache = bpf_map_lookup_elem(&udp_cache, &zero);
  if (!generation || !cache) return 1;
  /* Read before udp_flows: an entry filled from a flow user space deletes
   * afterwards carries the generation it bumps past. */
  const __u32 tag = *generation + 1;
  struct udp_cache_line* line = NULL;
  if (!cache->busy) {
    *(volatile __u32*)&cache->busy = 1;
    asm volatile("" ::: "memory");
    line = &cache->lines[udp_cache_index(&d.key)];
  }
  bool local_client = false;
  __u32 slot;
  if (line && line->tag == tag && udp_key_equal(&line->key, &d.key)) {
    slot = line->slot;
    local_client = line->local_client;
  } else {
    slot = udp_flow_slot(skb, egress, &d, &local_client, line != NULL);
    if (line && slot != UDP_SLOT_NONE) {
      line->key = d.key;
      line->slot = slot;
      line->local_client = local_client;
      line->tag = tag;
    }
  }
  if (line) {
    asm volatile("" ::: "memory");
    *(volatile __u32*)&cache->busy = 0;
  }
  if (slot == UDP_SLOT_NONE || slot == UDP_SLOT_FILTERED) return 1;
  struct netobs_flows_edge_stats* stats = stats_of(slot);
  if (!stats) return 1;
  if (egress == local_client) {
    stats->packets_to_server += 1;
    stats->bytes_to_server += d.payload;
  } else {
    stats->packets_to_client += 1;
    stats->bytes_to_client += d.payload;
  }
  return 1;
}

SEC("cgroup_skb/egress")
int flows_udp_egress(struct __sk_buff* skb) { return on_udp(skb, true); }

SEC("cgroup_skb/ingress")
int flows_udp_ingress(struct __sk_buff* skb) { return on_udp(skb, false); }

char LICENSE[] SEC("license") = "GPL";
