#!/bin/sh
# Regenerates the pinned vmlinux.h for this machine's architecture from the
# running kernel's BTF. Run it by hand on a machine whose kernel has the types
# the BPF programs need, review the diff, and commit it. Builds never call it.
set -eu

btf=${NETOBS_BTF:-/sys/kernel/btf/vmlinux}
bpftool=${BPFTOOL:-$(command -v bpftool || echo /usr/sbin/bpftool)}

case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) echo "update.sh: no vmlinux.h policy for $(uname -m) yet" >&2; exit 1 ;;
esac

if [ ! -r "$btf" ]; then
  echo "update.sh: kernel BTF not found at $btf: needs CONFIG_DEBUG_INFO_BTF=y" >&2
  exit 1
fi

dir=$(cd "$(dirname "$0")" && pwd)/$arch
mkdir -p "$dir"
tmp=$(mktemp "$dir/vmlinux.h.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"$bpftool" btf dump file "$btf" format c > "$tmp"
mv "$tmp" "$dir/vmlinux.h"
trap - EXIT
echo "wrote $dir/vmlinux.h from $btf (kernel $(uname -r), $(wc -l < "$dir/vmlinux.h") lines)"
