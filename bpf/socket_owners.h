/* netobs `netobs conns`: one record per open socket file, written by the
 * socket_owners iterator (bpf/socket_owners.bpf.c) into its seq_file and read
 * by exporter/net/process_owners.cc. Plain fixed-size types only. */
#ifndef NETOBS_BPF_SOCKET_OWNERS_H
#define NETOBS_BPF_SOCKET_OWNERS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NETOBS_COMM_LEN 16
/* Capacity of the iterator's `wanted` inode filter. */
#define NETOBS_SOCKET_OWNERS_MAX_WANTED 1024

struct netobs_socket_owner {
  __u64 inode;                /* the socket inode (sock_diag's idiag_inode) */
  __u32 tgid;                 /* process id (thread group id, as /proc/<pid> names it) */
  __u32 fd;                   /* descriptor number in that process */
  char comm[NETOBS_COMM_LEN]; /* the group leader's comm, NUL-padded */
};

#endif
