// SPDX-License-Identifier: GPL-2.0
/* netobs `netobs conns`: which processes hold which sockets, from the
 * kernel instead of readlink() on every /proc/<pid>/fd entry.
 *
 * iter/task_file (Linux 5.8+) visits every open file of every process; the
 * kernel skips threads that share their group leader's file table, so each
 * table is walked once, as /proc/<pid>/fd does. For socket files only
 * (S_IFSOCK inode) it writes a struct netobs_socket_owner to the iterator's
 * seq_file: the inode number is what sock_diag reports as idiag_inode
 * (sock_i_ino), so user space joins the two by it.
 *
 * With `filter_wanted` set, only inodes user space put in `wanted` are
 * written (a hash lookup per socket file), which keeps `--top 20` from
 * copying 20 000 records out.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "socket_owners.h"

/* include/uapi/linux/stat.h: #defines, so not in BTF. */
#define NETOBS_S_IFMT 00170000
#define NETOBS_S_IFSOCK 0140000

/* Set by user space (mmapped .bss) before each walk. */
__u8 filter_wanted = 0;

/* Socket inodes to report when filter_wanted. Beyond this many wanted
 * inodes user space asks for every socket and filters itself. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, NETOBS_SOCKET_OWNERS_MAX_WANTED);
  __type(key, __u64);
  __type(value, __u8);
} wanted SEC(".maps");

SEC("iter/task_file")
int socket_owners(struct bpf_iter__task_file* ctx) {
  struct seq_file* seq = ctx->meta->seq;
  struct task_struct* task = ctx->task;
  struct file* file = ctx->file;
  if (!task || !file) return 0;

  struct inode* inode = file->f_inode;
  if (!inode) return 0;
  /* Direct BTF loads: the verifier turns faults into zero reads. */
  if ((inode->i_mode & NETOBS_S_IFMT) != NETOBS_S_IFSOCK) return 0;

  struct netobs_socket_owner owner = {};
  owner.inode = inode->i_ino;
  if (filter_wanted && !bpf_map_lookup_elem(&wanted, &owner.inode)) return 0;
  owner.tgid = task->tgid;
  owner.fd = ctx->fd;
  /* /proc/<pid>/comm of pid == tgid is the group leader's comm. */
  struct task_struct* leader = task->group_leader;
  if (leader) bpf_probe_read_kernel_str(owner.comm, sizeof(owner.comm), leader->comm);
  bpf_seq_write(seq, &owner, sizeof(owner));
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
