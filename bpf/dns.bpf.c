// SPDX-License-Identifier: GPL-2.0
/* DNS collector: parses the DNS header of UDP and TCP messages on the
 * configured ports, correlates each response with its query in an LRU map and
 * records per-{transport, qtype, rcode} counts and latency histograms. Two
 * hooks feed the same body (handle_dns):
 *
 *   dns_tc_ingress, dns_tc_egress   SCHED_CLS on tc ingress and egress of
 *       every interface of the netns (tcx or clsact). skb->data is the
 *       Ethernet header; the IP, UDP and DNS headers are read straight from
 *       the packet (direct packet access, no helper call), so a non-DNS
 *       packet leaves after a bounds check and a few compares. They always
 *       return TC_ACT_UNSPEC (= TCX_NEXT): the packet goes on to the next
 *       program untouched.
 *   dns_filter   the fallback: a socket filter on an AF_PACKET socket
 *       (SOCK_DGRAM, so the program sees every packet from its network
 *       header, on every device of the netns, loopback included). It always
 *       returns 0: nothing is queued to the packet socket.
 *
 * User space only ever reads maps and the ring buffer.
 *
 * Optional pieces, switched on through rodata before load:
 *   emit_exchanges       one ring-buffer record per matched response (events)
 *   query_sample_every   1-in-N query copies for the top-domains metric
 *   track_procs          local port -> {tgid, comm} via sock_send_length
 *   track_servers        per-server query/response counts
 *
 * The socket filter has no direct packet access: every packet read is a
 * helper call (bpf_skb_load_bytes, or LD_ABS/LD_IND, which the verifier
 * rewrites into a call of bpf_skb_load_helper_{8,16,32}). Calls dominate the
 * cost, so the common paths read everything they need in ONE
 * bpf_skb_load_bytes: the IP header, the UDP header and the DNS header (40
 * bytes for IPv4, 60 for IPv6), falling back to IP header + ports for
 * shorter packets. Rare paths (IP options, IPv6 extension headers, TCP, the
 * question name) use LD_ABS/LD_IND. A LD_ABS/IND past the end of the packet
 * ends the program with 0, which is what we return anyway; DNS payload reads
 * are checked against the packet length first so that truncation is counted.
 * DNS_LD_ABS_GUARD: in tc that implicit exit would return 0, TC_ACT_OK,
 * which ends the tc chain (TCX_PASS) instead of handing the packet on
 * (TCX_NEXT), so every LD_ABS/IND offset is checked against the packet
 * length first, in both program types.
 * LD_ABS/IND may not run while a ring-buffer reservation is held (the
 * verifier refuses: the implicit exit would leak it), so every packet read
 * happens before bpf_ringbuf_reserve. Offsets are from skb->data, which is
 * the network header for the socket filter and the Ethernet header for tc
 * (struct dns_where's `base`; LD_ABS uses the same origin); bpf_skb_load_bytes
 * also reads paged data (TCP on loopback), which the _relative variant
 * does not.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dns.h"
#include "lib/dns_wire.h"
#include "lib/network_filter.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PACKET_HOST 0
#define PACKET_OTHERHOST 3
#define PACKET_OUTGOING 4
#define IPPROTO_HOPOPTS 0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_AH 51
#define IPPROTO_DSTOPTS 60

/* IPv6 extension headers walked before giving up (counted). */
#define DNS_IPV6_EXT_MAX 6

/* Which program runs the shared body: direction and packet layout follow. */
#define DNS_HOOK_SOCKET 0 /* packet socket: offset 0 is the IP header, pkt_type tells direction */
#define DNS_HOOK_TC_INGRESS 1 /* tc: offset 0 is the Ethernet header */
#define DNS_HOOK_TC_EGRESS 2
#define TC_ACT_UNSPEC (-1) /* TCX_NEXT has the same value */
#define ETH_HLEN 14

/* Filters and switches, set through skel->rodata before load. The verifier
 * sees the frozen values and drops the code of switched-off features. */
const volatile __u16 dns_ports[DNS_MAX_PORTS] = {53};
const volatile __u32 dns_port_count = 1;
/* Loopback shows each packet twice (packet socket: PACKET_OUTGOING on
 * transmit, PACKET_HOST on receive; tc: egress, then ingress): on this
 * ifindex only the transmit copy counts. 0 turns the dedupe off
 * (BPF_PROG_TEST_RUN runs on the netns loopback device with pkt_type
 * PACKET_HOST, as tc ingress). */
const volatile __u32 loopback_ifindex = 1; /* LOOPBACK_IFINDEX in every netns */
const volatile __u8 emit_exchanges = 0;
const volatile __u8 track_procs = 0;
const volatile __u8 track_servers = 0;
/* Responses by the querying process's cgroup: sock_send_length records the
 * sender's cgroup beside its comm (needs track_procs); off: pruned. */
const volatile __u8 attribute_cgroup = 0;
const volatile __u32 query_sample_every = 0; /* 0: no samples */

/* Queries waiting for their response, and answered ones until the next
 * sweep removes them (see DNS_PENDING_* in dns.h). LRU: under pressure the
 * least recently used entries go first; user space derives the evictions of
 * waiting entries (inserts - matched - expired - live waiting entries) so
 * they are counted, not silent. max_entries set at load. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct dns_flow_key);
  __type(value, struct dns_pending);
} dns_pending SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024);
  __type(key, struct dns_stats_key);
  __type(value, struct dns_stats_value);
} dns_stats SEC(".maps");

/* Responses and latency by {cgroup of the querying process, rcode};
 * max_entries set at load (max_cgroups + 16). Past it: the `other` cgroup,
 * whose 16 rcode entries user space inserts before attaching. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1);
  __type(key, struct dns_cgroup_key);
  __type(value, struct dns_stats_value);
} dns_cgroup_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DNS_FAST_ENTRIES);
  __type(key, __u32);
  __type(value, struct dns_stats_value);
} dns_stats_fast SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DNS_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} dns_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 64);
  __type(key, struct dns_server_key);
  __type(value, struct dns_server_value);
} dns_servers SEC(".maps");

/* Local port -> sending process. The socket filter cannot tell: the packet
 * tap hands it a clone without the socket (skb->sk is NULL), possibly in
 * softirq context. So it adds an empty entry for the local port of each
 * query sent from this host, and the sock_send_length program, which runs
 * in the sender's context with the socket, fills in tgid and comm. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct dns_proc);
} dns_procs SEC(".maps");

/* Per-CPU tick for 1-in-N query sampling. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} dns_sample_tick SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096); /* resized at load when events are on */
} dns_events SEC(".maps");

static __always_inline void count(__u32 index) {
  __u64* value = bpf_map_lookup_elem(&dns_counters, &index);

  if (value) *value += 1;
}

static __always_inline int is_dns_port(__u32 port) {
#pragma clang loop unroll(full)
  for (__u32 i = 0; i < DNS_MAX_PORTS; i++) {
    if (i >= dns_port_count) break;
    if (port == dns_ports[i]) return 1;
  }
  return 0;
}

static __always_inline __u32 latency_bucket(__u64 ns) {
  const __u64 bounds[DNS_LATENCY_BOUNDS] = DNS_LATENCY_BOUNDS_NS;

#pragma clang loop unroll(full)
  for (__u32 i = 0; i < DNS_LATENCY_BOUNDS; i++) {
    if (ns <= bounds[i]) return i;
  }
  return DNS_LATENCY_BOUNDS;
}

/* Slot of a common query type in dns_stats_fast, or DNS_FAST_QTYPES. */
static __always_inline __u32 fast_slot(__u16 qtype) {
  const __u16 types[DNS_FAST_QTYPES] = DNS_FAST_QTYPE_LIST;

#pragma clang loop unroll(full)
  for (__u32 i = 0; i < DNS_FAST_QTYPES; i++) {
    if (qtype == types[i]) return i;
  }
  return DNS_FAST_QTYPES;
}

static __always_inline struct dns_stats_value* stats_entry(struct dns_stats_key* key) {
  __u32 slot = fast_slot(key->qtype);
  if (slot < DNS_FAST_QTYPES) {
    __u32 column = key->kind == DNS_STAT_QUERY ? DNS_FAST_QUERY_COLUMN : (key->rcode & 0xF);
    __u32 index = ((key->transport & 1) * DNS_FAST_QTYPES + slot) * DNS_FAST_COLUMNS + column;
    return bpf_map_lookup_elem(&dns_stats_fast, &index);
  }
  struct dns_stats_value* value = bpf_map_lookup_elem(&dns_stats, key);

  if (value) return value;
  struct dns_stats_value zero = {};
  /* EEXIST: another CPU created it in between; fine, look it up again. */
  bpf_map_update_elem(&dns_stats, key, &zero, BPF_NOEXIST);
  value = bpf_map_lookup_elem(&dns_stats, key);
  if (!value) count(DNS_C_STATS_UPDATE_ERRORS);
  return value;
}

static __always_inline void count_server(const struct dns_flow_key* flow, int response) {
  struct dns_server_key key = {};

  __builtin_memcpy(key.addr, flow->server, 16);
  key.family = flow->family;
  struct dns_server_value* value = bpf_map_lookup_elem(&dns_servers, &key);
  if (!value) {
    struct dns_server_value zero = {};
    bpf_map_update_elem(&dns_servers, &key, &zero, BPF_NOEXIST);
    value = bpf_map_lookup_elem(&dns_servers, &key);
    if (!value) {
      /* Map full: server="other" (the all-zero key user space created). */
      struct dns_server_key other = {};

      count(DNS_C_SERVERS_OVERFLOW);
      value = bpf_map_lookup_elem(&dns_servers, &other);
      if (!value) return;
    }
  }
  if (response)
    value->responses += 1;
  else
    value->queries += 1;
}

/* Where the DNS message is in the packet. Offsets are from the network
 * header; `base` is where that is from skb->data (0 for the packet socket,
 * ETH_HLEN for tc), added to every packet read. */
struct dns_where {
  __u32 base;
  __u32 off;   /* first byte of the DNS header */
  __u32 end;   /* one past the last byte of the message in this packet */
  __u32 total; /* length of the whole message (TCP: from the length prefix) */
  __u16 sport;
  __u16 dport;
  __u8 transport;
  __u8 family;
  __u16 pad;
  __u8 saddr[16]; /* IPv4: first 4 bytes, rest zero */
  __u8 daddr[16];
  /* UDP without IP options/extension headers: the UDP length and DNS header
   * came with the IP header (one helper call for the whole parse). */
  __u32 preloaded;
  __u32 udp_len; /* host byte order */
  struct dns_wire_header dns;
};

static __always_inline void malformed(__u32 reason, __u8 transport) {
  count(DNS_C_MALFORMED + reason * DNS_TRANSPORTS + transport);
}

/* tc only: a pointer to `len` bytes at `off` from skb->data when they are in
 * the linear part of the packet, else NULL (read them with a helper). The
 * verifier gives a packet pointer a checked range only while its variable
 * offset plus `len` stays under 64 KiB: offsets past 16 KiB (never a
 * question name in practice) take the helper. */
static __always_inline const __u8* packet_at(struct __sk_buff* skb, __u32 off, __u32 len) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;

  if (off > 0x3FFF) return NULL;
  const __u8* p = data + (off & 0x3FFF);

  if ((void*)p + len > data_end) return NULL;
  return p;
}

/* The question name at `off` skipped (lib/dns_wire.h): the offset after
 * it, or a negative -(DNS_MALFORMED_* + 1). */
static __always_inline long skip_name(struct __sk_buff* skb, __u32 base, __u32 off, __u32 end) {
  long after = dns_skip_name(skb, base, off, end);

  if (after == DNS_NAME_TRUNCATED) return -(DNS_MALFORMED_TRUNCATED + 1);
  if (after == DNS_NAME_BAD) return -(DNS_MALFORMED_BAD_NAME + 1);
  return after;
}

/* The QTYPE of the first question, or a negative -(reason + 1). */
static __always_inline long question_type(struct __sk_buff* skb, const struct dns_where* w,
                                          const int tc) {
  long after = skip_name(skb, w->base, w->off + DNS_HEADER_LEN, w->end);

  if (after < 0) return after;
  if ((__u32)after + 4 > w->end) return -(DNS_MALFORMED_TRUNCATED + 1);
  if (tc) {
    const __u8* p = packet_at(skb, w->base + (__u32)after, 2);
    if (p) return ((__u32)p[0] << 8) | p[1];
  }
  return load_half(skb, w->base + (__u32)after);
}

static __always_inline void load_addresses(const struct dns_where* w, int response,
                                           struct dns_flow_key* key) {
  if (response) {
    __builtin_memcpy(key->client, w->daddr, 16);
    __builtin_memcpy(key->server, w->saddr, 16);
  } else {
    __builtin_memcpy(key->client, w->saddr, 16);
    __builtin_memcpy(key->server, w->daddr, 16);
  }
}

/* Copies the DNS message into a ring-buffer record (msg_len set). */
static __always_inline void capture_message(struct __sk_buff* skb, const struct dns_where* w,
                                            struct dns_event* event) {
  __u64 len = w->end - w->off;

  event->msg_total = w->total;
  event->msg_len = 0;
  if (len == 0) return;
  if (len > DNS_CAPTURE_BYTES) len = DNS_CAPTURE_BYTES;
  /* The verifier needs 0 < len <= sizeof(msg) proven on the register that
   * is passed; the empty asm stops clang from dropping the mask it can prove
   * redundant (DNS_CAPTURE_BYTES is a power of two). */
  asm volatile("" : "+r"(len));
  len = ((len - 1) & (DNS_CAPTURE_BYTES - 1)) + 1;
  if (bpf_skb_load_bytes(skb, w->base + w->off, event->msg, len) == 0) event->msg_len = len;
}

static __always_inline void fill_proc(__u32 proc_key, struct dns_event* event) {
  event->tgid = 0;
  event->comm[0] = 0;
  if (!track_procs || proc_key == 0) return;
  struct dns_proc* proc = bpf_map_lookup_elem(&dns_procs, &proc_key);
  if (!proc) return;
  event->tgid = proc->tgid;
  __builtin_memcpy(event->comm, proc->comm, sizeof(event->comm));
}

static __always_inline void fill_flow(struct dns_event* event, const struct dns_flow_key* key) {
  __builtin_memcpy(event->client, key->client, 16);
  __builtin_memcpy(event->server, key->server, 16);
  event->client_port = key->client_port;
  event->server_port = key->server_port;
  event->id = key->id;
  event->transport = key->transport;
  event->family = key->family;
}

static __always_inline void sample_query(struct __sk_buff* skb, const struct dns_where* w,
                                         const struct dns_flow_key* key, __u16 qtype, __u16 flags,
                                         __u32 proc_key, __u64 now) {
  __u32 zero = 0;
  __u64* tick = bpf_map_lookup_elem(&dns_sample_tick, &zero);

  if (!tick) return;
  *tick += 1;
  if (*tick < query_sample_every) return;
  *tick = 0;
  struct dns_event* event = bpf_ringbuf_reserve(&dns_events, sizeof(*event), 0);
  if (!event) {
    count(DNS_C_EVENTS_LOST);
    return;
  }
  event->kind = DNS_EVENT_QUERY_SAMPLE;
  event->ts_ns = now;
  event->latency_ns = 0;
  event->qtype = qtype;
  event->flags = flags;
  fill_flow(event, key);
  fill_proc(proc_key, event);
  capture_message(skb, w, event);
  bpf_ringbuf_submit(event, 0);
}

static __always_inline int handle_query(struct __sk_buff* skb, const struct dns_where* w,
                                        struct dns_flow_key* key, __u16 flags, __u16 qdcount,
                                        int outgoing, const int tc) {
  if (qdcount == 0) {
    malformed(DNS_MALFORMED_NO_QUESTION, w->transport);
    return 0;
  }
  long qtype = question_type(skb, w, tc);
  if (qtype < 0) {
    malformed((__u32)(-qtype - 1), w->transport);
    return 0;
  }
  load_addresses(w, 0, key);

  __u64 now = bpf_ktime_get_ns();
  struct dns_pending pending = {.ts_ns = now, .qtype = (__u16)qtype};
  /* Only queries leaving this host come from a local process. */
  if (track_procs && outgoing) pending.proc_key = dns_proc_key(key->client_port, w->transport);

  long err = bpf_map_update_elem(&dns_pending, key, &pending, BPF_NOEXIST);
  if (err == -17 /* EEXIST */) {
    struct dns_pending* old = bpf_map_lookup_elem(&dns_pending, key);
    if (old && old->state == DNS_PENDING_WAITING) {
      /* Same client, server and ID still outstanding: a retransmission of
       * the same query, which keeps its first timestamp and counts once. */
      count(DNS_C_RETRANSMITTED_QUERIES + w->transport);
      return 0;
    }
    /* An answered entry not swept yet (the client reused port and ID): a
     * new query. (Gone meanwhile: insert again.) */
    err = bpf_map_update_elem(&dns_pending, key, &pending, BPF_ANY);
  }
  if (err)
    count(DNS_C_CORR_INSERT_ERRORS);
  else
    count(DNS_C_CORR_INSERTS);

  struct dns_stats_key skey = {
      .qtype = (__u16)qtype, .transport = w->transport, .kind = DNS_STAT_QUERY};
  struct dns_stats_value* stats = stats_entry(&skey);
  if (stats) stats->count += 1;
  if (track_servers) count_server(key, 0);
  if (pending.proc_key) {
    struct dns_proc empty = {};
    bpf_map_update_elem(&dns_procs, &pending.proc_key, &empty, BPF_NOEXIST);
  }
  if (query_sample_every) sample_query(skb, w, key, (__u16)qtype, flags, pending.proc_key, now);
  return 0;
}

/* The querying process's cgroup (recorded in its dns_procs entry when it
 * sent, in its own context) gets the response: the socket filter and tc
 * see the response in softirq context, without the sender. */
static __always_inline void count_cgroup_response(__u32 proc_key, __u8 rcode, __u64 latency) {
  if (proc_key == 0) return;
  struct dns_proc* proc = bpf_map_lookup_elem(&dns_procs, &proc_key);
  if (!proc || proc->cgroup_id == 0) return;
  struct dns_cgroup_key key = {.cgroup_id = proc->cgroup_id, .rcode = rcode};
  struct dns_stats_value* stats = bpf_map_lookup_elem(&dns_cgroup_stats, &key);
  if (!stats) {
    /* EEXIST (another CPU inserted it) is fine: look it up again. */
    struct dns_stats_value zero = {};

    bpf_map_update_elem(&dns_cgroup_stats, &key, &zero, BPF_NOEXIST);
    stats = bpf_map_lookup_elem(&dns_cgroup_stats, &key);
  }
  if (!stats) {
    count(DNS_C_CGROUP_OVERFLOW);
    key.cgroup_id = DNS_CGROUP_OTHER;
    stats = bpf_map_lookup_elem(&dns_cgroup_stats, &key);
  }
  if (!stats) return;
  __u32 bucket = latency_bucket(latency);
  stats->count += 1;
  stats->sum_ns += latency;
  if (bucket < DNS_LATENCY_BUCKETS) stats->buckets[bucket] += 1;
}

static __always_inline int handle_response(struct __sk_buff* skb, const struct dns_where* w,
                                           struct dns_flow_key* key, __u16 flags) {
  if (flags & 0x0200) count(DNS_C_TRUNCATED + w->transport); /* TC bit */
  load_addresses(w, 1, key);

  struct dns_pending* found = bpf_map_lookup_elem(&dns_pending, key);
  if (!found) {
    count(DNS_C_UNMATCHED_RESPONSES + w->transport);
    return 0;
  }
  struct dns_pending pending = *found;
  /* The compare-and-swap decides who owns the entry: when the timeout sweep
   * claimed it first, it counted the query as unanswered, and this late
   * response must not count as well; a duplicate response finds it
   * ANSWERED. No delete here (a delete takes the bucket and LRU locks and
   * is the most expensive step): the sweep removes answered entries. */
  if (__sync_val_compare_and_swap(&found->state, DNS_PENDING_WAITING, DNS_PENDING_ANSWERED) !=
      DNS_PENDING_WAITING) {
    count(DNS_C_UNMATCHED_RESPONSES + w->transport);
    return 0;
  }
  count(DNS_C_CORR_MATCHED);

  __u64 now = bpf_ktime_get_ns();
  __u64 latency = now > pending.ts_ns ? now - pending.ts_ns : 0;
  struct dns_stats_key skey = {.qtype = pending.qtype,
                               .rcode = flags & 0xF,
                               .transport = w->transport,
                               .kind = DNS_STAT_RESPONSE};
  struct dns_stats_value* stats = stats_entry(&skey);
  if (stats) {
    __u32 bucket = latency_bucket(latency);
    stats->count += 1;
    stats->sum_ns += latency;
    if (bucket < DNS_LATENCY_BUCKETS) stats->buckets[bucket] += 1;
  }
  if (track_servers) count_server(key, 1);
  if (attribute_cgroup) count_cgroup_response(pending.proc_key, flags & 0xF, latency);
  if (!emit_exchanges) return 0;

  struct dns_event* event = bpf_ringbuf_reserve(&dns_events, sizeof(*event), 0);
  if (!event) {
    count(DNS_C_EVENTS_LOST);
    return 0;
  }
  event->kind = DNS_EVENT_EXCHANGE;
  event->ts_ns = now;
  event->latency_ns = latency;
  event->qtype = pending.qtype;
  event->flags = flags;
  fill_flow(event, key);
  fill_proc(pending.proc_key, event);
  capture_message(skb, w, event);
  bpf_ringbuf_submit(event, 0);
  return 0;
}

/* The packet's direction after the ports matched: 1 outgoing, 0 incoming,
 * -1 for a copy counted elsewhere or not ours. `hook` (DNS_HOOK_*, a
 * constant in each program's inlined copy) says where it was seen. */
static __always_inline int packet_direction(struct __sk_buff* skb, const int hook) {
  if (hook == DNS_HOOK_SOCKET) {
    __u32 pkt_type = skb->pkt_type;
    int outgoing = pkt_type == PACKET_OUTGOING;

    if (pkt_type == PACKET_OTHERHOST) {
      count(DNS_C_OTHERHOST);
      return -1;
    }
    if (loopback_ifindex && skb->ifindex == loopback_ifindex && !outgoing) {
      count(DNS_C_LOOPBACK_DUPLICATES);
      return -1;
    }
    return outgoing;
  }
  /* tc sees a VLAN-tagged frame on the lower device (tag in skb->vlan_tci)
   * and again, untagged, on the VLAN device: count it there only. */
  if (skb->vlan_present) return -1;
  if (hook == DNS_HOOK_TC_EGRESS) return 1;
  /* eth_type_trans set pkt_type: a frame for another MAC (promiscuous
   * device, bridge port) is not ours, as for the packet socket. */
  if (skb->pkt_type == PACKET_OTHERHOST) {
    count(DNS_C_OTHERHOST);
    return -1;
  }
  /* Loopback egress already counted it. */
  if (loopback_ifindex && skb->ifindex == loopback_ifindex) {
    count(DNS_C_LOOPBACK_DUPLICATES);
    return -1;
  }
  return 0;
}

/* UDP: narrows `w` from the UDP header to the DNS message and reads its
 * header into `h`; false when there is none. */
static __always_inline bool udp_message(struct __sk_buff* skb, struct dns_where* w,
                                        struct dns_wire_header* h) {
  __u32 l4_off = w->off, l4_end = w->end;

  if (l4_off + 8 > l4_end) return false; /* not even a UDP header */
  if (l4_off + 8 + DNS_HEADER_LEN > l4_end) {
    malformed(DNS_MALFORMED_SHORT_HEADER, DNS_TRANSPORT_UDP);
    return false;
  }
  if (!w->preloaded) {
    /* UDP header and DNS header in one helper call. */
    struct {
      __be16 sport, dport, len, check;
      struct dns_wire_header dns;
    } u;
    if (bpf_skb_load_bytes(skb, w->base + l4_off, &u, sizeof(u)) < 0) return false;
    w->udp_len = bpf_ntohs(u.len);
    w->dns = u.dns;
  }
  __u32 udp_len = w->udp_len;
  if (udp_len >= 8 && l4_off + udp_len < l4_end) l4_end = l4_off + udp_len;
  w->off = l4_off + 8;
  w->end = l4_end;
  if (w->off + DNS_HEADER_LEN > w->end) {
    malformed(DNS_MALFORMED_SHORT_HEADER, DNS_TRANSPORT_UDP);
    return false;
  }
  w->total = w->end - w->off;
  *h = w->dns;
  return true;
}

/* TCP: narrows `w` from the TCP header to the DNS message after its length
 * prefix and reads its header into `h`; false when there is none. */
static __always_inline bool tcp_message(struct __sk_buff* skb, struct dns_where* w,
                                        struct dns_wire_header* h) {
  __u32 l4_off = w->off, l4_end = w->end;
  const __u32 base = w->base;

  if (l4_off + 20 > l4_end) return false;
  __u32 payload = l4_off + ((load_byte(skb, base + l4_off + 12) >> 4) << 2);
  if (payload >= l4_end) return false; /* SYN, ACK, FIN: no data */
  /* One DNS message per segment is read: the 2-byte length prefix must
   * start the segment's data (segments continuing a longer message are
   * counted as malformed, see collectors/dns/README.md). */
  if (payload + 2 + DNS_HEADER_LEN > l4_end) {
    malformed(DNS_MALFORMED_SHORT_HEADER, DNS_TRANSPORT_TCP);
    return false;
  }
  struct {
    __be16 len;
    struct dns_wire_header dns;
  } __attribute__((packed)) t;
  if (bpf_skb_load_bytes(skb, base + payload, &t, sizeof(t)) < 0) return false;
  __u32 msg_len = bpf_ntohs(t.len);
  if (msg_len < DNS_HEADER_LEN) {
    malformed(DNS_MALFORMED_TCP_LENGTH, DNS_TRANSPORT_TCP);
    return false;
  }
  w->off = payload + 2;
  w->end = w->off + msg_len < l4_end ? w->off + msg_len : l4_end;
  w->total = msg_len;
  *h = t.dns;
  return true;
}

/* network.* filters (lib/network_filter.h): the server's address against
 * the CIDR tries, either end's port against the port filter. */
#define FILTER_NETWORK (NETWORK_FILTER_CIDRS || NETWORK_FILTER_PORTS)
static __always_inline bool network_passes(const struct dns_flow_key* key) {
  if (key->family == DNS_FAMILY_IPV4) {
    __u32 server;

    __builtin_memcpy(&server, key->server, 4);
    if (!network_filter_ipv4_passes(server)) return false;
  } else if (!network_filter_address_passes(key->server)) {
    return false;
  }
  if (!NETWORK_FILTER_PORTS) return true;
  return network_filter_port_bits_pass(network_filter_port_bits(key->client_port) |
                                       network_filter_port_bits(key->server_port));
}

/* After the ports matched: finds the DNS message and dispatches on QR.
 * `hook` as in packet_direction. */
static __always_inline int handle_dns(struct __sk_buff* skb, struct dns_where* w, const int hook) {
  struct dns_wire_header h;
  int outgoing = packet_direction(skb, hook);

  if (outgoing < 0) return 0;
  if (w->transport == DNS_TRANSPORT_UDP ? !udp_message(skb, w, &h) : !tcp_message(skb, w, &h))
    return 0;

  struct dns_flow_key key = {};
  __u16 flags = bpf_ntohs(h.flags);
  __u16 qdcount = bpf_ntohs(h.qdcount);
  int response = flags >> 15;

  key.id = bpf_ntohs(h.id);
  key.transport = w->transport;
  key.family = w->family;
  key.client_port = response ? w->dport : w->sport;
  key.server_port = response ? w->sport : w->dport;
  if (FILTER_NETWORK) {
    load_addresses(w, response, &key);
    if (!network_passes(&key)) {
      count(DNS_C_FILTERED);
      return 0;
    }
  }
  if (response) return handle_response(skb, w, &key, flags);
  return handle_query(skb, w, &key, flags, qdcount, outgoing, hook != DNS_HOOK_SOCKET);
}

/* The IPv4, UDP and DNS headers as the common case reads them at once. */
struct ipv4_head {
  __u8 vihl;
  __u8 tos;
  __be16 tot_len;
  __be16 id;
  __be16 frag;
  __u8 ttl;
  __u8 protocol;
  __be16 check;
  __u8 saddr[4];
  __u8 daddr[4];
  __be16 sport;
  __be16 dport;
  __be16 udp_len;
  __be16 udp_check;
  struct dns_wire_header dns;
};

struct ipv6_head {
  __be32 version_class_flow;
  __be16 payload_len;
  __u8 next;
  __u8 hop_limit;
  __u8 saddr[16];
  __u8 daddr[16];
  __be16 sport;
  __be16 dport;
  __be16 udp_len;
  __be16 udp_check;
  struct dns_wire_header dns;
};

/* Reads the IP header (and, when the packet is long enough, the UDP and DNS
 * headers after it: `size` bytes) at `base` with a helper: 1 when all of it
 * was read, 0 when only the first `min` bytes were (shorter packet), -1 when
 * not even those (nothing for us).
 * Verifier workaround (seen on Linux 6.18, dns_tc_ingress with exactly two
 * ports): a stack buffer filled only by bpf_skb_load_bytes can make
 * precision backtracking walk past the helper call to a state without that
 * stack and fail the load with "verifier bug: stack slot 18, total slots 0"
 * (EFAULT). Zeroing the buffer with ordinary stores first gives the
 * backtracking a write to stop at; tc only (base != 0), where this is the
 * rare path. */
static __always_inline int load_head(struct __sk_buff* skb, __u32 base, void* h, __u32 size,
                                     __u32 min) {
  if (base) __builtin_memset(h, 0, size);
  if (bpf_skb_load_bytes(skb, base, h, size) == 0) return 1;
  return bpf_skb_load_bytes(skb, base, h, min) < 0 ? -1 : 0;
}

/* tc only (direct packet access): reads the headers straight from the
 * packet into `h` when they are in the linear part. Returns 1 when `h` holds
 * all of them, 0 when the caller must read them with a helper (not linear,
 * or shorter), -1 when the packet is certainly not on a DNS port: IPv4
 * without options, or IPv6 without extension headers, whose protocol or
 * ports do not match. That exit costs a bounds check and a few compares. */
static __always_inline int direct_ipv4(struct __sk_buff* skb, struct ipv4_head* h) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  const struct ipv4_head* p = data + ETH_HLEN;

  if ((void*)p + 24 > data_end) return 0; /* IPv4 header + ports */
  if (p->protocol != IPPROTO_UDP && p->protocol != IPPROTO_TCP) return -1;
  if (p->vihl == 0x45 && !is_dns_port(bpf_ntohs(p->sport)) && !is_dns_port(bpf_ntohs(p->dport)))
    return -1;
  if ((void*)(p + 1) > data_end) return 0;
  *h = *p;
  return 1;
}

static __always_inline int direct_ipv6(struct __sk_buff* skb, struct ipv6_head* h) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  const struct ipv6_head* p = data + ETH_HLEN;

  if ((void*)p + 44 > data_end) return 0; /* IPv6 header + ports */
  __u8 next = p->next;
  if (next == IPPROTO_UDP || next == IPPROTO_TCP) {
    if (!is_dns_port(bpf_ntohs(p->sport)) && !is_dns_port(bpf_ntohs(p->dport))) return -1;
  } else if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
             next != IPPROTO_AH && next != IPPROTO_FRAGMENT) {
    return -1; /* ICMPv6 and the rest: no extension header to walk */
  }
  if ((void*)(p + 1) > data_end) return 0;
  *h = *p;
  return 1;
}

/* Fills `w` for a TCP/UDP packet on a DNS port and returns 1; 0 for
 * everything else. tc reads the headers from the packet (direct_ipv4); the
 * packet socket's common case costs one helper call: the IPv4 header, the
 * UDP header and the DNS header are read in one bpf_skb_load_bytes (LD_ABS
 * would be one call per field: the verifier turns each into a helper call);
 * packets shorter than that take a second, shorter read. */
static __always_inline int locate_ipv4(struct __sk_buff* skb, struct dns_where* w, const int tc) {
  struct ipv4_head h;
  const __u32 ports_end = 24; /* IPv4 header + ports */
  const __u32 base = tc ? ETH_HLEN : 0;
  int whole = 0;

  if (tc) whole = direct_ipv4(skb, &h);
  if (whole < 0) return 0; /* certainly not DNS */
  if (!whole) whole = load_head(skb, base, &h, sizeof(h), ports_end);
  if (whole < 0) return 0; /* shorter than an IPv4 header plus ports */
  if (h.protocol != IPPROTO_UDP && h.protocol != IPPROTO_TCP) return 0;
  if (h.frag & bpf_htons(0x1FFF)) return 0; /* not the first fragment: no ports */
  __u32 l4_off = (h.vihl & 0xF) << 2;
  __u32 sport = bpf_ntohs(h.sport), dport = bpf_ntohs(h.dport);
  if (l4_off != 20) {
    if (l4_off < 20) return 0;
    if (l4_off + 4 > skb->len - base) return 0;  /* see DNS_LD_ABS_GUARD */
    __u32 ports = load_word(skb, base + l4_off); /* IP options: ports further on */
    sport = ports >> 16;
    dport = ports & 0xFFFF;
  }
  if (!is_dns_port(sport) && !is_dns_port(dport)) return 0;

  if ((h.vihl >> 4) != 4) return 0;
  /* tot_len is 0 for IPv4 BIG TCP GSO packets: the skb length rules then.
   * Either way never past skb->len (Ethernet padding is not payload). */
  __u32 l3_len = skb->len - base;
  __u32 l4_end = bpf_ntohs(h.tot_len);
  if (l4_end == 0 || l4_end > l3_len) l4_end = l3_len;
  w->base = base;
  __builtin_memset(w->saddr, 0, sizeof(w->saddr));
  __builtin_memset(w->daddr, 0, sizeof(w->daddr));
  __builtin_memcpy(w->saddr, h.saddr, 4);
  __builtin_memcpy(w->daddr, h.daddr, 4);
  w->sport = sport;
  w->dport = dport;
  w->transport = h.protocol == IPPROTO_TCP ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP;
  w->family = DNS_FAMILY_IPV4;
  w->off = l4_off; /* handle_dns moves these to the DNS message */
  w->end = l4_end;
  w->preloaded = whole && l4_off == 20 && h.protocol == IPPROTO_UDP;
  w->udp_len = bpf_ntohs(h.udp_len);
  w->dns = h.dns;
  return 1;
}

static __always_inline int locate_ipv6(struct __sk_buff* skb, struct dns_where* w, const int tc) {
  struct ipv6_head h;
  const __u32 ports_end = 44; /* IPv6 header + ports */
  const __u32 base = tc ? ETH_HLEN : 0;
  int whole = 0;

  if (tc) whole = direct_ipv6(skb, &h);
  if (whole < 0) return 0;
  if (!whole) whole = load_head(skb, base, &h, sizeof(h), ports_end);
  if (whole < 0) return 0;
  __u32 next = h.next;
  __u32 l4_off = 40;
  __u32 sport = bpf_ntohs(h.sport), dport = bpf_ntohs(h.dport);

  if (next != IPPROTO_UDP && next != IPPROTO_TCP) {
    /* Walk extension headers (bounded). */
    const __u32 l3_len = skb->len - base;
    int i;
    for (i = 0; i < DNS_IPV6_EXT_MAX; i++) {
      if (l4_off + 4 > l3_len) return 0; /* see DNS_LD_ABS_GUARD */
      if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
        next = load_byte(skb, base + l4_off);
        l4_off += (load_byte(skb, base + l4_off + 1) + 1) << 3; /* 8-byte units, minus the first */
      } else if (next == IPPROTO_AH) {
        next = load_byte(skb, base + l4_off);
        l4_off += (load_byte(skb, base + l4_off + 1) + 2) << 2; /* 4-byte units, minus two */
      } else if (next == IPPROTO_FRAGMENT) {
        if (load_half(skb, base + l4_off + 2) & 0xFFF8) return 0; /* not the first fragment */
        next = load_byte(skb, base + l4_off);
        l4_off += 8;
      } else {
        break;
      }
    }
    if (next != IPPROTO_UDP && next != IPPROTO_TCP) {
      if (i == DNS_IPV6_EXT_MAX) count(DNS_C_IPV6_EXT_TOO_DEEP);
      return 0;
    }
    if (l4_off + 4 > l3_len) return 0;
    __u32 ports = load_word(skb, base + l4_off);
    sport = ports >> 16;
    dport = ports & 0xFFFF;
  }
  if (!is_dns_port(sport) && !is_dns_port(dport)) return 0;

  if ((bpf_ntohl(h.version_class_flow) >> 28) != 6) return 0;
  /* payload_len is 0 for jumbograms and IPv6 BIG TCP: use the skb length. */
  __u32 l3_len = skb->len - base;
  __u32 l4_end = bpf_ntohs(h.payload_len) + 40;
  if (l4_end == 40 || l4_end > l3_len) l4_end = l3_len;
  w->base = base;
  __builtin_memcpy(w->saddr, h.saddr, 16);
  __builtin_memcpy(w->daddr, h.daddr, 16);
  w->sport = sport;
  w->dport = dport;
  w->transport = next == IPPROTO_TCP ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP;
  w->family = DNS_FAMILY_IPV6;
  w->off = l4_off;
  w->end = l4_end;
  w->preloaded = whole && l4_off == 40 && next == IPPROTO_UDP;
  w->udp_len = bpf_ntohs(h.udp_len);
  w->dns = h.dns;
  return 1;
}

/* The packet socket delivers from the network header (SOCK_DGRAM), so
 * offset 0 is the IP header; skb->protocol tells which one. */
SEC("socket")
int dns_filter(struct __sk_buff* skb) {
  __u32 protocol = skb->protocol;
  struct dns_where w;

  if (protocol == bpf_htons(ETH_P_IP)) {
    if (!locate_ipv4(skb, &w, 0)) return 0;
  } else if (protocol == bpf_htons(ETH_P_IPV6)) {
    if (!locate_ipv6(skb, &w, 0)) return 0;
  } else {
    return 0;
  }
  return handle_dns(skb, &w, DNS_HOOK_SOCKET);
}

/* The tc programs: skb->data is the Ethernet header (tc pushes it back on
 * ingress; on egress it is already built), skb->protocol its EtherType.
 * Only attached to devices with Ethernet framing (and loopback, which has a
 * zeroed Ethernet header): see collectors/dns/README.md. */
static __always_inline int dns_tc(struct __sk_buff* skb, const int hook) {
  __u32 protocol = skb->protocol;
  struct dns_where w;

  if (protocol == bpf_htons(ETH_P_IP)) {
    if (!locate_ipv4(skb, &w, 1)) return TC_ACT_UNSPEC;
  } else if (protocol == bpf_htons(ETH_P_IPV6)) {
    if (!locate_ipv6(skb, &w, 1)) return TC_ACT_UNSPEC;
  } else {
    return TC_ACT_UNSPEC;
  }
  handle_dns(skb, &w, hook);
  return TC_ACT_UNSPEC;
}

SEC("tc")
int dns_tc_ingress(struct __sk_buff* skb) { return dns_tc(skb, DNS_HOOK_TC_INGRESS); }

SEC("tc")
int dns_tc_egress(struct __sk_buff* skb) { return dns_tc(skb, DNS_HOOK_TC_EGRESS); }

/* The timeout sweep's claim on one entry (see DNS_PENDING_* in dns.h): run
 * by user space through BPF_PROG_TEST_RUN with a 14-byte dummy Ethernet
 * header and the struct dns_flow_key as the packet (skb->data is the key
 * after eth_type_trans). Never attached. Returns DNS_CLAIM_*. */
SEC("socket")
int dns_claim_expired(struct __sk_buff* skb) {
  struct dns_flow_key key;

  if (bpf_skb_load_bytes(skb, 0, &key, sizeof(key)) < 0) return DNS_CLAIM_NOT_FOUND;
  struct dns_pending* found = bpf_map_lookup_elem(&dns_pending, &key);
  if (!found) return DNS_CLAIM_NOT_FOUND;
  __u64 old = __sync_val_compare_and_swap(&found->state, DNS_PENDING_WAITING, DNS_PENDING_EXPIRED);
  bpf_map_delete_elem(&dns_pending, &key);
  return old == DNS_PENDING_WAITING ? DNS_CLAIM_EXPIRED : DNS_CLAIM_NOT_WAITING;
}

/* Process attribution: runs in the context of the task that sent on `sk`.
 * Only ports the socket filter saw a query leave from are in dns_procs, so
 * other sends cost one lookup. sk_protocol is a bitfield before Linux 5.6:
 * the PROBED bitfield read handles both layouts. */
static __always_inline int note_sender(struct sock* sk) {
  if (!track_procs || !sk) return 0;
  __u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
  __u32 protocol = (__u32)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
  if (protocol != IPPROTO_UDP && protocol != IPPROTO_TCP) return 0;
  __u32 key = dns_proc_key(port, protocol == IPPROTO_TCP ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP);
  struct dns_proc* proc = bpf_map_lookup_elem(&dns_procs, &key);
  if (!proc) return 0;
  proc->tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  /* The process name, not the sending thread's (dig sends from
   * "isc-net-0000"): the group leader's comm. */
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  struct task_struct* leader = BPF_CORE_READ(task, group_leader);
  if (bpf_probe_read_kernel_str(proc->comm, sizeof(proc->comm), &leader->comm) < 0)
    bpf_get_current_comm(proc->comm, sizeof(proc->comm));
  if (attribute_cgroup) proc->cgroup_id = bpf_get_current_cgroup_id();
  count(DNS_C_PROC_UPDATES);
  return 0;
}

/* TP_PROTO(struct sock *sk, int ret, int flags) */
SEC("tp_btf/sock_send_length")
int BPF_PROG(dns_proc_btf, struct sock* sk, int ret, int flags) { return note_sender(sk); }

SEC("raw_tp/sock_send_length")
int BPF_PROG(dns_proc_raw, struct sock* sk, int ret, int flags) { return note_sender(sk); }

SEC("tracepoint/sock/sock_send_length")
int dns_proc_tp(struct trace_event_raw_sock_msg_length* ctx) {
  return note_sender((struct sock*)ctx->sk);
}

char LICENSE[] SEC("license") = "GPL";
