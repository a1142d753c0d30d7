/* The drops collector's kernel/user contract, shared by bpf/drops.bpf.c and
 * collectors/drops/. The ONE definition of each struct; plain __u32/__u64
 * with explicit padding, no vmlinux.h.
 */
#ifndef NETOBS_BPF_DROPS_H_
#define NETOBS_BPF_DROPS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NETOBS_DROPS_IFNAME_LEN 16 /* IFNAMSIZ */

/* One aggregation bucket of dropped packets (key of the hash `keys`). */
struct netobs_drops_key {
  __u32 reason;  /* enum skb_drop_reason of the running kernel */
  __u32 netns;   /* inode number of the network namespace; 0: unknown */
  __u32 ifindex; /* skb->dev's ifindex in that namespace; 0: no device */
  __u16 l3;      /* skb->protocol, host byte order (0x0800 IPv4, 0x86dd IPv6...) */
  __u8 l4;       /* IP protocol (6 tcp, 17 udp...); 0: not IP or unknown */
  __u8 pad;
  __u64 location;   /* kernel address that dropped it; 0 unless by_location */
  __u32 sock_ino;   /* inode of the socket the packet belongs to; 0 unless by_owner */
  __u16 local_port; /* the socket's local port, else the packet's destination
                     * port (TCP, UDP, SCTP); 0 unless by_port */
  __u16 pad2;
};

/* Value of the `keys` hash: the key's slot in the per-CPU array `counts`,
 * and the device's name copied when the key was first seen, so user space
 * names interfaces of every namespace without entering them. Counts live in
 * an array, not in the hash, so the per-event path can skip the hash while
 * a CPU keeps dropping packets of the same key (see drops.bpf.c). */
struct netobs_drops_slot {
  __u32 slot;
  __u32 pad;
  char ifname[NETOBS_DROPS_IFNAME_LEN];
};

/* When every slot is taken, new keys fold into the per-CPU array `overflow`,
 * indexed by reason (the last slot takes reasons beyond it): every drop is
 * still counted, by reason only. */
#define NETOBS_DROPS_OVERFLOW_SLOTS 256

/* attribution: cgroup. Drops of packets whose socket is known, by the cgroup
 * v2 id of the socket (sock_cgroup_data: the cgroup of the process that
 * created it), reason and protocol (key of the per-CPU hash `cgroup_drops`,
 * value: packets). When the hash is full, drops fold into the per-CPU array
 * `cgroup_overflow`, indexed by reason like `overflow`. */
struct netobs_drops_cgroup_key {
  __u64 cgroup_id;
  __u32 reason;
  __u16 l3;
  __u8 l4;
  __u8 pad;
};

#endif /* NETOBS_BPF_DROPS_H_ */
