#!/usr/bin/env bash
# Checks the man pages against the binaries: every flag printed by
# `netobs_exporter --help`, `netobs --help` and `netobs <command> --help` must
# appear in the matching man page, and both pages render without warnings.
#   packaging/check-man.sh DIR    # DIR holds netobs_exporter and netobs
set -euo pipefail
bin_dir=${1:?usage: $0 DIR-with-netobs_exporter-and-netobs}
man_dir=$(cd "$(dirname "$0")/man" && pwd)
failed=0

# Flags as they are written: -a, --web.listen-address, --[no-]collector.dns.
flags_in() {
  grep -oE '(^|[[:space:],(|])(-[a-zA-Z]|--(\[no-\])?[a-z][a-z0-9.-]*[a-z0-9])' |
    sed -E 's/^[[:space:],(|]//' | sort -u
}
# Roff source to plain text: \- is a minus, \f? switches fonts.
man_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1"; }

check_flags() {  # $1 man page, $2 label, stdin: --help text
  local page=$1 label=$2 help_flags man_flags missing
  help_flags=$(flags_in)
  man_flags=$(man_text "$page" | flags_in)
  missing=$(comm -23 <(echo "$help_flags") <(echo "$man_flags"))
  if [[ -z $help_flags ]]; then
    echo "FAIL: $label printed no flags" >&2
    failed=1
  elif [[ -n $missing ]]; then
    echo "FAIL: flags of $label missing from $(basename "$page"):" $missing >&2
    failed=1
  else
    echo "ok: $(echo "$help_flags" | wc -l) flags of $label are in $(basename "$page")"
  fi
}

"$bin_dir/netobs_exporter" --help | check_flags "$man_dir/netobs_exporter.8" "netobs_exporter --help"
"$bin_dir/netobs" --help | check_flags "$man_dir/netobs.1" "netobs --help"
commands=$("$bin_dir/netobs" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
for command in $commands; do
  "$bin_dir/netobs" "$command" --help | check_flags "$man_dir/netobs.1" "netobs $command --help"
  grep -q "^\.SS \"netobs $command" "$man_dir/netobs.1" ||
    { echo "FAIL: netobs.1 has no section for netobs $command" >&2; failed=1; }
done

for page in "$man_dir/netobs.1" "$man_dir/netobs_exporter.8"; do
  # The two checks lintian runs, plus groff's own with every warning on.
  warnings=$( (groff -man -ww -z "$page"
    LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" \
      >/dev/null) 2>&1)
  if [[ -n $warnings ]]; then
    echo "FAIL: $(basename "$page") renders with warnings:" >&2
    echo "$warnings" >&2
    failed=1
  else
    echo "ok: $(basename "$page") renders without warnings"
  fi
done
exit $failed
