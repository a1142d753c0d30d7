/* DNS wire-format walking shared by the BPF programs that read DNS messages
 * from an skb (bpf/dns.bpf.c: latency and question types; bpf/security.bpf.c:
 * answer addresses against the blocklists). Offsets are from skb->data and
 * every read goes through LD_ABS/LD_IND (load_byte/half/word): callers check
 * offsets against the message end first (an LD_ABS past the packet ends the
 * program, see DNS_LD_ABS_GUARD in dns.bpf.c). Include after vmlinux.h.
 */
#ifndef NETOBS_BPF_LIB_DNS_WIRE_H_
#define NETOBS_BPF_LIB_DNS_WIRE_H_

/* A name of at most 255 bytes has at most 127 labels plus the root. */
#define DNS_MAX_LABELS 128
#define DNS_MAX_NAME 255
#define DNS_HEADER_LEN 12
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

/* skip_name's errors (negative returns). */
#define DNS_NAME_TRUNCATED (-1) /* runs past the end of the message */
#define DNS_NAME_BAD (-2)       /* label type 0x40/0x80, or longer than 255 bytes */

unsigned long long load_byte(void* skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void* skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void* skb, unsigned long long off) asm("llvm.bpf.load.word");

/* The DNS header fields, in network byte order. */
struct dns_wire_header {
  __be16 id;
  __be16 flags;
  __be16 qdcount;
  __be16 ancount;
  __be16 nscount;
  __be16 arcount;
};

/* The label walk of a name starting at `off`, shared by the three readers
 * below (LD_ABS, a copy in memory, the packet): returns the offset after the
 * name (a compression pointer ends it), or DNS_NAME_TRUNCATED / DNS_NAME_BAD.
 * READ_BYTE(c) sets c to the byte at `off` or returns DNS_NAME_TRUNCATED. */
#define DNS_SKIP_NAME_WALK(READ_BYTE)                                                \
  __u32 name_len = 1; /* the root label */                                           \
  _Pragma("clang loop unroll(disable)") for (__u32 i = 0; i < DNS_MAX_LABELS; i++) { \
    __u32 c;                                                                         \
    if (off >= end) return DNS_NAME_TRUNCATED;                                       \
    READ_BYTE(c);                                                                    \
    if (c == 0) return off + 1;                                                      \
    if ((c & 0xC0) == 0xC0) return off + 2;                                          \
    if (c & 0xC0) return DNS_NAME_BAD;                                               \
    name_len += c + 1;                                                               \
    if (name_len > DNS_MAX_NAME) return DNS_NAME_BAD;                                \
    off += c + 1;                                                                    \
  }                                                                                  \
  return DNS_NAME_BAD

/* Skips the name at `off` (labels only: a compression pointer ends it and
 * is not followed, so no loop is possible). Returns the offset after the
 * name, or DNS_NAME_TRUNCATED / DNS_NAME_BAD. Bounded: DNS_MAX_LABELS steps,
 * not unrolled (the verifier walks bounded loops itself; 128 copies of the
 * body would bloat the program for no gain). LD_ABS also for tc: direct
 * reads here double the paths per label, and verifying the 128-step loop
 * then took seconds (and passed the 1M-instruction limit with dns.bpf.c's
 * query sampling on). */
static __always_inline long dns_skip_name(struct __sk_buff* skb, __u32 base, __u32 off, __u32 end) {
#define DNS_READ_SKB_BYTE(c) ((c) = load_byte(skb, base + off))
  DNS_SKIP_NAME_WALK(DNS_READ_SKB_BYTE);
}

/* One resource record's fixed part after its name. */
struct dns_rr_head {
  __u16 type;
  __u16 rdlength;
  __u32 rdata; /* offset of the data */
  __u32 next;  /* offset of the next record */
};

/* Reads the record at `off` (name, type, class, ttl, rdlength) into `rr`;
 * 0, or a negative DNS_NAME_* when it does not fit in the message. */
static __always_inline int dns_read_rr(struct __sk_buff* skb, __u32 base, __u32 off, __u32 end,
                                       struct dns_rr_head* rr) {
  long after = dns_skip_name(skb, base, off, end);

  if (after < 0) return (int)after;
  if ((__u32)after + 10 > end) return DNS_NAME_TRUNCATED;
  rr->type = load_half(skb, base + (__u32)after);
  rr->rdlength = load_half(skb, base + (__u32)after + 8);
  rr->rdata = (__u32)after + 10;
  rr->next = rr->rdata + rr->rdlength;
  if (rr->next > end) return DNS_NAME_TRUNCATED;
  return 0;
}

/* ---- The same walk over a copy of the message in memory ----
 * One bpf_skb_load_bytes copies the message into a buffer of
 * DNS_MEM_MAX + DNS_MEM_SLACK bytes; every read is then a plain load
 * instead of a helper call per byte (LD_ABS in a socket filter is a call).
 * Offsets are from the start of the message and checked against `end`
 * (<= DNS_MEM_MAX, the bytes copied) exactly as above; the mask only tells
 * the verifier the read stays in the buffer (reads of at most
 * DNS_MEM_SLACK bytes start at a masked offset). */
#define DNS_MEM_MAX 512 /* a power of two: the classic UDP message limit */
#define DNS_MEM_SLACK 16
#define DNS_MEM_AT(buf, off) ((buf) + ((off) & (DNS_MEM_MAX - 1)))

static __always_inline __u16 dns_mem_half(const __u8* buf, __u32 off) {
  const __u8* p = DNS_MEM_AT(buf, off);
  return ((__u16)p[0] << 8) | p[1];
}

/* dns_skip_name over the copy. */
static __always_inline long dns_mem_skip_name(const __u8* buf, __u32 off, __u32 end) {
#define DNS_READ_MEM_BYTE(c) ((c) = *DNS_MEM_AT(buf, off))
  DNS_SKIP_NAME_WALK(DNS_READ_MEM_BYTE);
}

/* dns_read_rr over the copy. */
static __always_inline int dns_mem_read_rr(const __u8* buf, __u32 off, __u32 end,
                                           struct dns_rr_head* rr) {
  long after = dns_mem_skip_name(buf, off, end);

  if (after < 0) return (int)after;
  if ((__u32)after + 10 > end) return DNS_NAME_TRUNCATED;
  rr->type = dns_mem_half(buf, (__u32)after);
  rr->rdlength = dns_mem_half(buf, (__u32)after + 8);
  rr->rdata = (__u32)after + 10;
  rr->next = rr->rdata + rr->rdlength;
  if (rr->next > end) return DNS_NAME_TRUNCATED;
  return 0;
}

/* ---- The same walk in the packet itself (tc: direct packet access) ----
 * `msg` points at the message in the packet; offsets are checked against
 * `end` (the message's bytes, at most DNS_PKT_MAX) as above, and every read
 * against `data_end` (skb->data_end); the mask bounds the offset for the
 * verifier. */
#define DNS_PKT_MAX 4096 /* a power of two: EDNS responses fit */
#define DNS_PKT_AT(msg, off) ((msg) + ((off) & (DNS_PKT_MAX - 1)))

/* dns_skip_name in the packet. */
static __always_inline long dns_pkt_skip_name(const __u8* msg, const void* data_end, __u32 off,
                                              __u32 end) {
#define DNS_READ_PKT_BYTE(c)                                        \
  do {                                                              \
    const __u8* p = DNS_PKT_AT(msg, off);                           \
    if ((const void*)(p + 1) > data_end) return DNS_NAME_TRUNCATED; \
    (c) = *p;                                                       \
  } while (0)
  DNS_SKIP_NAME_WALK(DNS_READ_PKT_BYTE);
}

#endif /* NETOBS_BPF_LIB_DNS_WIRE_H_ */
