// SPDX-License-Identifier: GPL-2.0
/* DNS collector: a socket filter on an AF_PACKET socket (SOCK_DGRAM, so the
 * program sees every packet from its network header, on every device of the
 * netns, loopback included) parses the DNS header of UDP and TCP messages on
 * the configured ports, correlates each response with its query in an LRU map
 * and records per-{transport, qtype, rcode} counts and latency histograms.
 * It always returns 0: nothing is queued to the packet socket, so user space
 * only ever reads maps and the ring buffer.
 *
 * Optional pieces, switched on through rodata before load:
 *   emit_exchanges       one ring-buffer record per matched response (events)
 *   query_sample_every   1-in-N query copies for the top-domains metric
 *   track_procs          socket cookie -> {tgid, comm} via sock_send_length
 *   track_servers        per-server query/response counts
 *
 * Packet reads use LD_ABS/LD_IND (load_byte/half/word): the verifier inlines
 * them (a bounds check against the linear head and a load), which keeps the
 * non-DNS path at a few instructions. A LD_ABS/IND past the end of the packet
 * ends the program with 0, which is what we return anyway; DNS payload reads
 * are checked against the packet length first so that truncation is counted.
 * LD_ABS/IND may not run while a ring-buffer reservation is held (the
 * verifier refuses: the implicit exit would leak it), so every packet read
 * happens before bpf_ringbuf_reserve.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dns.h"

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
/* A name of at most 255 bytes has at most 127 labels plus the root. */
#define DNS_MAX_LABELS 128
#define DNS_MAX_NAME 255
#define DNS_HEADER_LEN 12

unsigned long long load_byte(void* skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void* skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void* skb, unsigned long long off) asm("llvm.bpf.load.word");

/* Filters and switches, set through skel->rodata before load. The verifier
 * sees the frozen values and drops the code of switched-off features. */
const volatile __u16 dns_ports[DNS_MAX_PORTS] = {53};
const volatile __u32 dns_port_count = 1;
/* Loopback shows each packet twice (PACKET_OUTGOING on transmit, PACKET_HOST
 * on receive): on this ifindex only the outgoing copy counts. The outgoing
 * copy still carries the sending socket (loopback_xmit orphans the skb
 * before it is received). 0 turns the dedupe off (BPF_PROG_TEST_RUN runs on
 * the netns loopback device with pkt_type PACKET_HOST). */
const volatile __u32 loopback_ifindex = 1; /* LOOPBACK_IFINDEX in every netns */
const volatile __u8 emit_exchanges = 0;
const volatile __u8 track_procs = 0;
const volatile __u8 track_servers = 0;
const volatile __u32 query_sample_every = 0; /* 0: no samples */

/* Queries waiting for their response. LRU: under pressure the oldest entries
 * go first; user space derives the evictions (inserts - matched - expired -
 * live entries) so they are counted, not silent. max_entries set at load. */
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

/* Socket cookie -> sending process. The socket filter adds an empty entry for
 * each local socket that sends a query; the sock_send_length program, which
 * runs in the sender's context, fills in tgid and comm. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
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

static __always_inline struct dns_stats_value* stats_entry(struct dns_stats_key* key) {
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
      count(DNS_C_SERVERS_OVERFLOW);
      return;
    }
  }
  if (response)
    value->responses += 1;
  else
    value->queries += 1;
}

/* Where the DNS message is in the packet, from the network header. */
struct dns_where {
  __u32 off;   /* first byte of the DNS header */
  __u32 end;   /* one past the last byte of the message in this packet */
  __u32 total; /* length of the whole message (TCP: from the length prefix) */
  __u32 saddr_off;
  __u32 daddr_off;
  __u16 sport;
  __u16 dport;
  __u8 transport;
  __u8 family;
};

static __always_inline void malformed(__u32 reason, __u8 transport) {
  count(DNS_C_MALFORMED + reason * DNS_TRANSPORTS + transport);
}

/* Skips the question name at `off` (labels only: a compression pointer ends
 * it, and is not followed, so no loop is possible here). Returns the offset
 * after the name, or a negative -(reason + 1). Bounded: DNS_MAX_LABELS steps. */
static __always_inline long skip_name(struct __sk_buff* skb, __u32 off, __u32 end) {
  __u32 name_len = 1; /* the root label */

  /* Not unrolled: the verifier walks bounded loops itself (5.3+), and 128
   * copies of the body would bloat the program for no gain. */
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < DNS_MAX_LABELS; i++) {
    if (off >= end) return -(DNS_MALFORMED_TRUNCATED + 1);
    __u32 c = load_byte(skb, off);
    if (c == 0) return off + 1;
    if ((c & 0xC0) == 0xC0) return off + 2;
    if (c & 0xC0) return -(DNS_MALFORMED_BAD_NAME + 1);
    name_len += c + 1;
    if (name_len > DNS_MAX_NAME) return -(DNS_MALFORMED_BAD_NAME + 1);
    off += c + 1;
  }
  return -(DNS_MALFORMED_BAD_NAME + 1);
}

/* The QTYPE of the first question, or a negative -(reason + 1). */
static __always_inline long question_type(struct __sk_buff* skb, const struct dns_where* w) {
  long after = skip_name(skb, w->off + DNS_HEADER_LEN, w->end);

  if (after < 0) return after;
  if ((__u32)after + 4 > w->end) return -(DNS_MALFORMED_TRUNCATED + 1);
  return load_half(skb, (__u32)after);
}

static __always_inline void load_addresses(struct __sk_buff* skb, const struct dns_where* w,
                                           int response, struct dns_flow_key* key) {
  __u32 client_off = response ? w->daddr_off : w->saddr_off;
  __u32 server_off = response ? w->saddr_off : w->daddr_off;

  if (w->family == DNS_FAMILY_IPV4) {
    bpf_skb_load_bytes_relative(skb, client_off, key->client, 4, BPF_HDR_START_NET);
    bpf_skb_load_bytes_relative(skb, server_off, key->server, 4, BPF_HDR_START_NET);
  } else {
    bpf_skb_load_bytes_relative(skb, client_off, key->client, 16, BPF_HDR_START_NET);
    bpf_skb_load_bytes_relative(skb, server_off, key->server, 16, BPF_HDR_START_NET);
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
  if (bpf_skb_load_bytes_relative(skb, w->off, event->msg, len, BPF_HDR_START_NET) == 0)
    event->msg_len = len;
}

static __always_inline void fill_proc(__u64 cookie, struct dns_event* event) {
  event->tgid = 0;
  event->comm[0] = 0;
  if (!track_procs || cookie == 0) return;
  struct dns_proc* proc = bpf_map_lookup_elem(&dns_procs, &cookie);
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
                                         __u64 cookie, __u64 now) {
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
  fill_proc(cookie, event);
  capture_message(skb, w, event);
  bpf_ringbuf_submit(event, 0);
}

static __always_inline int handle_query(struct __sk_buff* skb, const struct dns_where* w,
                                        struct dns_flow_key* key, __u16 flags, __u16 qdcount) {
  if (qdcount == 0) {
    malformed(DNS_MALFORMED_NO_QUESTION, w->transport);
    return 0;
  }
  long qtype = question_type(skb, w);
  if (qtype < 0) {
    malformed((__u32)(-qtype - 1), w->transport);
    return 0;
  }
  load_addresses(skb, w, 0, key);

  __u64 now = bpf_ktime_get_ns();
  struct dns_pending pending = {.ts_ns = now, .qtype = (__u16)qtype};
  /* Only local senders have a socket here; cookie 0 means none. */
  if (track_procs && skb->pkt_type == PACKET_OUTGOING) pending.cookie = bpf_get_socket_cookie(skb);

  long err = bpf_map_update_elem(&dns_pending, key, &pending, BPF_NOEXIST);
  if (err == -17 /* EEXIST */) {
    /* Same client, server and ID still outstanding: a retransmission of
     * the same query, which keeps its first timestamp and counts once. */
    count(DNS_C_RETRANSMITTED_QUERIES + w->transport);
    return 0;
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
  if (track_procs && pending.cookie) {
    struct dns_proc empty = {};
    bpf_map_update_elem(&dns_procs, &pending.cookie, &empty, BPF_NOEXIST);
  }
  if (query_sample_every) sample_query(skb, w, key, (__u16)qtype, flags, pending.cookie, now);
  return 0;
}

static __always_inline int handle_response(struct __sk_buff* skb, const struct dns_where* w,
                                           struct dns_flow_key* key, __u16 flags) {
  if (flags & 0x0200) count(DNS_C_TRUNCATED + w->transport); /* TC bit */
  load_addresses(skb, w, 1, key);

  struct dns_pending* found = bpf_map_lookup_elem(&dns_pending, key);
  if (!found) {
    count(DNS_C_UNMATCHED_RESPONSES + w->transport);
    return 0;
  }
  struct dns_pending pending = *found;
  /* The delete decides who owns the entry: when the user-space timeout
   * sweep removed it first, it counted the query as unanswered, and this
   * late response must not count as well. */
  if (bpf_map_delete_elem(&dns_pending, key) != 0) {
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
  fill_proc(pending.cookie, event);
  capture_message(skb, w, event);
  bpf_ringbuf_submit(event, 0);
  return 0;
}

/* After the ports matched: finds the DNS message and dispatches on QR. */
static __always_inline int handle_dns(struct __sk_buff* skb, struct dns_where* w) {
  __u32 l4_off = w->off, l4_end = w->end;

  if (skb->pkt_type == PACKET_OTHERHOST) {
    count(DNS_C_OTHERHOST);
    return 0;
  }
  if (loopback_ifindex && skb->ifindex == loopback_ifindex && skb->pkt_type != PACKET_OUTGOING) {
    count(DNS_C_LOOPBACK_DUPLICATES);
    return 0;
  }
  if (w->transport == DNS_TRANSPORT_UDP) {
    if (l4_off + 8 > l4_end) return 0; /* not even a UDP header */
    __u32 udp_len = load_half(skb, l4_off + 4);
    if (udp_len >= 8 && l4_off + udp_len < l4_end) l4_end = l4_off + udp_len;
    w->off = l4_off + 8;
    w->end = l4_end;
    if (w->off + DNS_HEADER_LEN > w->end) {
      malformed(DNS_MALFORMED_SHORT_HEADER, DNS_TRANSPORT_UDP);
      return 0;
    }
    w->total = w->end - w->off;
  } else {
    if (l4_off + 20 > l4_end) return 0;
    __u32 payload = l4_off + ((load_byte(skb, l4_off + 12) >> 4) << 2);
    if (payload >= l4_end) return 0; /* SYN, ACK, FIN: no data */
    /* One DNS message per segment is read: the 2-byte length prefix must
     * start the segment's data (segments continuing a longer message are
     * counted as malformed, see collectors/dns/README.md). */
    if (payload + 2 + DNS_HEADER_LEN > l4_end) {
      malformed(DNS_MALFORMED_SHORT_HEADER, DNS_TRANSPORT_TCP);
      return 0;
    }
    __u32 msg_len = load_half(skb, payload);
    if (msg_len < DNS_HEADER_LEN) {
      malformed(DNS_MALFORMED_TCP_LENGTH, DNS_TRANSPORT_TCP);
      return 0;
    }
    w->off = payload + 2;
    w->end = w->off + msg_len < l4_end ? w->off + msg_len : l4_end;
    w->total = msg_len;
  }

  struct dns_flow_key key = {};
  __u16 id = load_half(skb, w->off);
  __u16 flags = load_half(skb, w->off + 2);
  __u16 qdcount = load_half(skb, w->off + 4);
  int response = flags >> 15;

  key.id = id;
  key.transport = w->transport;
  key.family = w->family;
  key.client_port = response ? w->dport : w->sport;
  key.server_port = response ? w->sport : w->dport;
  if (response) return handle_response(skb, w, &key, flags);
  return handle_query(skb, w, &key, flags, qdcount);
}

/* Fills `w` for a TCP/UDP packet on a DNS port and returns 1; 0 for
 * everything else. */
static __always_inline int locate_ipv4(struct __sk_buff* skb, struct dns_where* w) {
  __u32 proto = load_byte(skb, 9);

  if (proto != IPPROTO_UDP && proto != IPPROTO_TCP) return 0;
  if (load_half(skb, 6) & 0x1FFF) return 0; /* not the first fragment: no ports */
  __u32 vihl = load_byte(skb, 0);
  __u32 l4_off = (vihl & 0xF) << 2;
  __u32 ports = load_word(skb, l4_off);
  __u32 sport = ports >> 16, dport = ports & 0xFFFF;
  if (!is_dns_port(sport) && !is_dns_port(dport)) return 0;

  if ((vihl >> 4) != 4 || l4_off < 20) return 0;
  /* tot_len is 0 for IPv4 BIG TCP GSO packets: the skb length rules then.
   * Either way never past skb->len (Ethernet padding is not payload). */
  __u32 l4_end = load_half(skb, 2);
  if (l4_end == 0 || l4_end > skb->len) l4_end = skb->len;
  w->saddr_off = 12;
  w->daddr_off = 16;
  w->sport = sport;
  w->dport = dport;
  w->transport = proto == IPPROTO_TCP ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP;
  w->family = DNS_FAMILY_IPV4;
  w->off = l4_off; /* handle_dns moves these to the DNS message */
  w->end = l4_end;
  return 1;
}

static __always_inline int locate_ipv6(struct __sk_buff* skb, struct dns_where* w) {
  __u32 next = load_byte(skb, 6);
  __u32 l4_off = 40;

  if (next != IPPROTO_UDP && next != IPPROTO_TCP) {
    /* Walk extension headers (bounded). */
    int i;
    for (i = 0; i < DNS_IPV6_EXT_MAX; i++) {
      if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
        next = load_byte(skb, l4_off);
        l4_off += (load_byte(skb, l4_off + 1) + 1) << 3; /* 8-byte units, minus the first */
      } else if (next == IPPROTO_AH) {
        next = load_byte(skb, l4_off);
        l4_off += (load_byte(skb, l4_off + 1) + 2) << 2; /* 4-byte units, minus two */
      } else if (next == IPPROTO_FRAGMENT) {
        if (load_half(skb, l4_off + 2) & 0xFFF8) return 0; /* not the first fragment */
        next = load_byte(skb, l4_off);
        l4_off += 8;
      } else {
        break;
      }
    }
    if (next != IPPROTO_UDP && next != IPPROTO_TCP) {
      if (i == DNS_IPV6_EXT_MAX) count(DNS_C_IPV6_EXT_TOO_DEEP);
      return 0;
    }
  }
  __u32 ports = load_word(skb, l4_off);
  __u32 sport = ports >> 16, dport = ports & 0xFFFF;
  if (!is_dns_port(sport) && !is_dns_port(dport)) return 0;

  if ((load_byte(skb, 0) >> 4) != 6) return 0;
  /* payload_len is 0 for jumbograms and IPv6 BIG TCP: use the skb length. */
  __u32 l4_end = load_half(skb, 4) + 40;
  if (l4_end == 40 || l4_end > skb->len) l4_end = skb->len;
  w->saddr_off = 8;
  w->daddr_off = 24;
  w->sport = sport;
  w->dport = dport;
  w->transport = next == IPPROTO_TCP ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP;
  w->family = DNS_FAMILY_IPV6;
  w->off = l4_off;
  w->end = l4_end;
  return 1;
}

/* The packet socket delivers from the network header (SOCK_DGRAM), so
 * offset 0 is the IP header; skb->protocol tells which one. */
SEC("socket")
int dns_filter(struct __sk_buff* skb) {
  __u32 protocol = skb->protocol;
  struct dns_where w;

  if (protocol == bpf_htons(ETH_P_IP)) {
    if (!locate_ipv4(skb, &w)) return 0;
  } else if (protocol == bpf_htons(ETH_P_IPV6)) {
    if (!locate_ipv6(skb, &w)) return 0;
  } else {
    return 0;
  }
  return handle_dns(skb, &w);
}

/* Baseline for cost measurements: the same program type doing nothing. */
SEC("socket")
int dns_empty(struct __sk_buff* skb) { return 0; }

/* Process attribution: runs in the context of the task that sent on `sk`.
 * skc_cookie is read, not generated (bpf_get_socket_cookie would assign a
 * cookie to every socket that sends anything); it is non-zero for sockets
 * the socket filter saw, which generated it. */
static __always_inline int note_sender(struct sock* sk) {
  if (!track_procs || !sk) return 0;
  __u64 cookie = (__u64)BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
  if (cookie == 0) return 0;
  struct dns_proc* proc = bpf_map_lookup_elem(&dns_procs, &cookie);
  if (!proc) return 0;
  proc->tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  bpf_get_current_comm(proc->comm, sizeof(proc->comm));
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
