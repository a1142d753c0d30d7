#!/usr/bin/env bash
# Package tests (tests/run.sh calls this; root; changes the machine and undoes it):
#   1. builds the .deb (dpkg-buildflags) and the .rpm (%optflags-like set) with
#      packaging/build.sh, only the two binaries;
#   2. man pages against every --help, lintian (no errors, no warnings),
#      rpmlint (no errors), systemd-analyze verify and security (<= 2.5);
#   3. installs the .deb: files, owners, modes, user, conffiles, completion;
#      runs /usr/bin/netobs_exporter the way netobs.service does (setpriv:
#      the unit's user, capabilities, no-new-privs, $ARGS from its
#      EnvironmentFile) with the packaged config: every default collector
#      reports success 1 and a real Prometheus scrapes it; SIGHUP reloads;
#      SIGTERM leaves no BPF program of the netobs user behind;
#   4. reinstalls over edited conffiles (edits kept), purges (files and
#      conffiles gone, no process left);
#   5. the .rpm: file list, scripts, requires, install into a scratch root.
# Removes what it created: the package, the netobs user and group (when it
# created them), /var/lib/netobs, its processes and temporary files.
#   bash packaging/test-packages.sh [BUILD_DIR_PREFIX]   (default build-pkg)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
prefix=${1:-build-pkg}
started=$SECONDS
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
step() { echo "== packaging: $* ($((SECONDS - started)) s)"; }

if [[ $(id -u) -ne 0 ]]; then
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: packaging tests need root (they install the .deb and create a user)" >&2
    exit 1
  fi
  echo "SKIP: packaging tests need root" >&2
  exit 0
fi
if dpkg-query -W -f='${Status}' netobs 2>/dev/null | grep -q "ok installed"; then
  echo "FAIL: a netobs package is already installed; this test installs and purges its own" >&2
  exit 1
fi

work=$(mktemp -d /tmp/netobs-pkgtest.XXXXXX)
chmod 0755 "$work"
exporter_pid=""
prometheus_pid=""
user_existed=0
getent passwd netobs >/dev/null && user_existed=1
group_existed=0
getent group netobs >/dev/null && group_existed=1
cleanup() {
  local pid
  for pid in $exporter_pid $prometheus_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if dpkg-query -W netobs >/dev/null 2>&1; then
    dpkg --purge netobs >/dev/null 2>&1 || true
  fi
  if [[ $user_existed -eq 0 ]] && getent passwd netobs >/dev/null; then
    userdel netobs 2>/dev/null || true
  fi
  if [[ $group_existed -eq 0 ]] && getent group netobs >/dev/null; then
    groupdel netobs 2>/dev/null || true
  fi
  rm -rf /var/lib/netobs "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # url, seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# Value of Key= in a unit file (the last assignment wins; comments skipped).
unit_value() { grep -E "^$2=" "$1" | tail -1 | cut -d= -f2-; }

# ---- 1. build ---------------------------------------------------------------
step "build .deb (dpkg-buildflags) and .rpm (%optflags)"
build_started=$SECONDS
bash packaging/build.sh deb "$prefix-deb" >"$work/build-deb.log" 2>&1 ||
  { tail -30 "$work/build-deb.log"; echo "FAIL: deb build" >&2; exit 1; }
bash packaging/build.sh rpm "$prefix-rpm" >"$work/build-rpm.log" 2>&1 ||
  { tail -30 "$work/build-rpm.log"; echo "FAIL: rpm build" >&2; exit 1; }
version=$(sed -nE 's/^project\(netobs VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
deb=$prefix-deb/packages/netobs_${version}_${arch}.deb
rpm_file=$prefix-rpm/packages/netobs-${version}-1.$(uname -m).rpm
[[ -f $deb ]] || { echo "FAIL: $deb not built" >&2; exit 1; }
[[ -f $rpm_file ]] || { echo "FAIL: $rpm_file not built" >&2; exit 1; }
pass "built in $((SECONDS - build_started)) s: $deb ($(stat -c %s "$deb") bytes)," \
  "$rpm_file ($(stat -c %s "$rpm_file") bytes)"

# The flags the packagers' builds ask for reached the compiler and linker.
check_hardening() {  # binary, label
  local dynamic headers symbols
  dynamic=$(readelf -d "$1")
  headers=$(readelf -hlW "$1")
  symbols=$(readelf -W --dyn-syms "$1")
  grep -q "BIND_NOW" <<<"$dynamic" || fail "$2: not linked with -z now"
  grep -q "GNU_RELRO" <<<"$headers" || fail "$2: no RELRO segment"
  grep -q "DYN (Position-Independent Executable" <<<"$headers" || fail "$2: not a PIE"
  grep -q "__stack_chk_fail" <<<"$symbols" || fail "$2: no stack protector"
  grep -qE "__[a-z_]+_chk@" <<<"$symbols" || fail "$2: no _FORTIFY_SOURCE"
}
check_hardening "$prefix-deb/exporter/netobs_exporter" "deb netobs_exporter"
check_hardening "$prefix-rpm/exporter/netobs_exporter" "rpm netobs_exporter"
grep -q -- "-D_FORTIFY_SOURCE=2" "$prefix-deb/CMakeCache.txt" || fail "deb tree: no dpkg-buildflags"
grep -q "NETOBS_WERROR:BOOL=OFF" "$prefix-deb/CMakeCache.txt" || fail "deb tree has -Werror"
pass "hardening flags in both builds (PIE, relro, now, stack protector, fortify)"

# ---- 2. static checks ---------------------------------------------------------
step "man pages, lintian, rpmlint, systemd-analyze"
packaging/check-man.sh "$prefix-deb/exporter" || fail "man pages"

lintian_rc=0
lintian_out=$(lintian --fail-on error,warning "$deb" 2>&1) || lintian_rc=$?
lintian_out=$(grep -v "^running with root" <<<"$lintian_out" || true)
[[ $lintian_rc -eq 0 ]] || fail "lintian exit $lintian_rc"
echo "lintian: ${lintian_out:-(no tags)}"

rpmlint_out=$(rpmlint -c packaging/rpm/rpmlint.toml "$rpm_file" 2>&1) || true
echo "$rpmlint_out" | sed 's/^/rpmlint: /'
grep -qE "^ *[0-9]+ packages and [0-9]+ specfiles checked; 0 errors" <<<"$rpmlint_out" ||
  fail "rpmlint reports errors"

mkdir -p "$work/rpmroot-unit"
(cd "$work/rpmroot-unit" && rpm2cpio "$repo/$rpm_file" | cpio -idm --quiet ./usr/lib/systemd/system/netobs.service)
for unit in "$prefix-deb/packaging/netobs.service" \
  "$work/rpmroot-unit/usr/lib/systemd/system/netobs.service"; do
  flavor=deb
  [[ $unit == "$work"/* ]] && flavor=rpm
  cp "$unit" "$work/netobs.service"
  score_line=$(systemd-analyze security --offline=yes --no-pager "$work/netobs.service" 2>&1 |
    grep "Overall exposure level") || true
  score=$(echo "$score_line" | sed -nE 's/.*: ([0-9.]+) .*/\1/p')
  echo "systemd-analyze security ($flavor unit): $score_line"
  if [[ -z $score ]] || ! awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
    fail "exposure level ${score:-unknown} of $unit is above 2.5"
  fi
done

# ---- 3. install the .deb ------------------------------------------------------
step "install the .deb"
dpkg --dry-run -i "$deb" >/dev/null || fail "dpkg --dry-run -i: dependencies not satisfied"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" </dev/null >"$work/dpkg-i.log" 2>&1 ||
  { cat "$work/dpkg-i.log"; echo "FAIL: dpkg -i" >&2; exit 1; }
apt-get check >/dev/null 2>&1 || fail "apt-get check: broken dependencies after install"

check_file() {  # path, mode, owner:group
  local got
  got=$(stat -c '%a %U:%G' "$1" 2>/dev/null) || { fail "$1 missing"; return; }
  [[ $got == "$2 $3" ]] || fail "$1 is $got, want $2 $3"
}
check_file /usr/bin/netobs_exporter 755 root:root
check_file /usr/bin/netobs 755 root:root
check_file /etc/netobs/netobs.yaml 644 root:root
check_file /etc/default/netobs 644 root:root
check_file /lib/systemd/system/netobs.service 644 root:root
check_file /usr/share/man/man1/netobs.1.gz 644 root:root
check_file /usr/share/man/man8/netobs_exporter.8.gz 644 root:root
check_file /usr/share/bash-completion/completions/netobs 644 root:root
check_file /usr/share/doc/netobs/copyright 644 root:root
check_file /usr/share/doc/netobs/changelog.gz 644 root:root
check_file /var/lib/netobs 750 netobs:netobs
cmp -s /etc/netobs/netobs.yaml config/netobs.yaml || fail "packaged config differs from config/netobs.yaml"
grep -qx 'ARGS=""' /etc/default/netobs || fail "/etc/default/netobs has no empty ARGS"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd netobs) || fail "no netobs user"
[[ ${uid:-0} -lt 1000 && ${uid:-0} -gt 0 ]] || fail "netobs is not a system user (uid ${uid:-?})"
[[ $(getent group netobs | cut -d: -f3) == "${gid:-x}" ]] || fail "netobs group is not its primary group"
[[ ${shell:-} == /usr/sbin/nologin && ${home:-} == /var/lib/netobs ]] ||
  fail "netobs user: shell ${shell:-?}, home ${home:-?}"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' netobs)
for f in /etc/netobs/netobs.yaml /etc/default/netobs; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a registered conffile"
done
man -w netobs_exporter >/dev/null 2>&1 && man -w netobs >/dev/null 2>&1 || fail "man pages not found by man"
systemd-analyze verify /lib/systemd/system/netobs.service >"$work/verify.log" 2>&1 ||
  fail "systemd-analyze verify: $(cat "$work/verify.log")"
[[ -s $work/verify.log ]] && fail "systemd-analyze verify warns: $(cat "$work/verify.log")"
# Completion of subcommands and flags, as bash-completion loads it.
completion=$(bash -c 'source /usr/share/bash-completion/bash_completion
  source /usr/share/bash-completion/completions/netobs
  COMP_WORDS=(netobs co); COMP_CWORD=1; COMP_LINE="netobs co"; COMP_POINT=9; _netobs
  echo "${COMPREPLY[*]}"
  COMP_WORDS=(netobs conns --no-p); COMP_CWORD=2; COMP_LINE="netobs conns --no-p"; COMP_POINT=19; _netobs
  echo "${COMPREPLY[*]}"
  COMP_WORDS=(netobs_exporter --no-collector.d); COMP_CWORD=1
  COMP_LINE="netobs_exporter --no-collector.d"; COMP_POINT=32; _netobs_exporter
  echo "${COMPREPLY[*]}"' 2>&1)
[[ $completion == $'conns\n--no-process\n--no-collector.dns --no-collector.drops' ]] ||
  fail "bash completion: got $(printf %q "$completion")"
pass "installed: files, modes, user uid $uid, conffiles, man, completion, verify"

# The capabilities `netobs check --systemd` derives from the collectors are the unit's.
unit=/lib/systemd/system/netobs.service
unit_caps=$(unit_value $unit AmbientCapabilities)
[[ $unit_caps == "$(unit_value $unit CapabilityBoundingSet)" ]] ||
  fail "AmbientCapabilities and CapabilityBoundingSet differ"
check_out=$(netobs check --systemd --config.file /etc/netobs/netobs.yaml) ||
  fail "netobs check --systemd failed"
echo "$check_out" | sed 's/^/  /'
dropin_caps=$(grep -E "^AmbientCapabilities=." <<<"$check_out" | cut -d= -f2-)
[[ $(tr ' ' '\n' <<<"$dropin_caps" | sort) == "$(tr ' ' '\n' <<<"$unit_caps" | sort)" ]] ||
  fail "netobs check --systemd wants \"$dropin_caps\", the unit grants \"$unit_caps\""

# ---- run it as netobs.service would ---------------------------------------------
step "run /usr/bin/netobs_exporter as the unit does"
port=$(free_port)
# The unit's EnvironmentFile is a conffile: this edit is kept by the reinstall below.
sed -i "s|^ARGS=\"\"|ARGS=\"--web.listen-address=127.0.0.1:$port\"|" /etc/default/netobs
echo "# local edit kept across reinstall" >>/etc/netobs/netobs.yaml
user=$(unit_value $unit User)
group=$(unit_value $unit Group)
umask_value=$(unit_value $unit UMask)
caps_setpriv=$(echo "$unit_caps" | tr 'A-Z' 'a-z' | sed -E 's/cap_/+/g; s/ /,/g')
envfile=$(unit_value $unit EnvironmentFile)
exec_start=$(unit_value $unit ExecStart)
[[ $(unit_value $unit NoNewPrivileges) == yes ]] || fail "unit without NoNewPrivileges=yes"
ARGS=""
# shellcheck disable=SC1090
source "${envfile#-}"
cmdline=${exec_start//\$ARGS/$ARGS}
echo "as $user:$group, caps $unit_caps, umask $umask_value: $cmdline"
(cd / && umask "$umask_value" && exec setpriv --reuid="$user" --regid="$group" --init-groups \
  --inh-caps=-all,"$caps_setpriv" --ambient-caps=-all,"$caps_setpriv" \
  --bounding-set=-all,"$caps_setpriv" --no-new-privs -- $cmdline) \
  >"$work/exporter.log" 2>&1 &
exporter_pid=$!
if ! wait_http "http://127.0.0.1:$port/healthz" 60; then
  tail -20 "$work/exporter.log"
  fail "exporter did not serve on 127.0.0.1:$port"
fi
status=$(cat /proc/$exporter_pid/status)
want_mask=$(printf '%016x' $((1 << 12 | 1 << 13 | 1 << 38 | 1 << 39)))
[[ $(echo "$status" | awk '/^Uid:/ {print $2}') == "$uid" ]] || fail "exporter not running as netobs"
[[ $(echo "$status" | awk '/^CapEff:/ {print $2}') == "$want_mask" ]] ||
  fail "exporter CapEff $(echo "$status" | awk '/^CapEff:/ {print $2}'), want $want_mask"
[[ $(echo "$status" | awk '/^NoNewPrivs:/ {print $2}') == 1 ]] || fail "no-new-privs not set"
defaults=$(echo "$check_out" | sed -nE 's/^capabilities for netobs.service \(enabled collectors: (.*)\):$/\1/p')
[[ -n $defaults ]] || fail "no default collectors listed"
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
for c in $defaults; do
  grep -qx "netobs_scrape_collector_success{collector=\"$c\"} 1" <<<"$metrics" ||
    fail "collector $c: $(grep "netobs_scrape_collector_success{collector=\"$c\"}" <<<"$metrics")"
done
pass "as uid $uid with CapEff $want_mask: success 1 for $defaults"

# A real Prometheus scrapes it.
prom_port=$(free_port)
mkdir -p "$work/prometheus"
cat >"$work/prometheus/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: netobs
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF
prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
scraped=""
for ((i = 0; i < 300; i++)); do
  scraped=$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/query" \
    --data-urlencode 'query=netobs_scrape_collector_success{job="netobs"} == 1' 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]
print(" ".join(sorted(x["metric"]["collector"] for x in r)))' 2>/dev/null) || true
  [[ $scraped == "$(echo $defaults | tr ' ' '\n' | sort | xargs)" ]] && break
  sleep 0.2
done
[[ $scraped == "$(echo $defaults | tr ' ' '\n' | sort | xargs)" ]] ||
  fail "Prometheus saw success 1 for \"$scraped\", want \"$defaults\""
pass "Prometheus scraped success 1 for: $scraped"
kill -TERM "$prometheus_pid" && wait "$prometheus_pid" 2>/dev/null || true
prometheus_pid=""

# ExecReload: SIGHUP reloads and the exporter keeps serving.
kill -HUP "$exporter_pid"
sleep 1
kill -0 "$exporter_pid" 2>/dev/null && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" ||
  fail "exporter gone after SIGHUP"
grep -q "reload" "$work/exporter.log" || fail "SIGHUP was not logged as a reload"

# SIGTERM: exit 0, no BPF program of the netobs user left, no process.
held=$(bpftool prog show -j | python3 -c "import json,sys
print(sum(1 for p in json.load(sys.stdin) if p.get('uid') == $uid))")
kill -TERM "$exporter_pid"
rc=0
wait "$exporter_pid" || rc=$?
exporter_pid=""
[[ $rc -eq 0 ]] || fail "exporter exited $rc on SIGTERM"
# The kernel frees a detached tracing program after an RCU grace period (on
# skb:kfree_skb, a busy tracepoint, that can outlast the process by a moment):
# wait up to 5 s for the count to reach 0.
for _ in $(seq 50); do
  left=$(bpftool prog show -j | python3 -c "import json,sys
print(sum(1 for p in json.load(sys.stdin) if p.get('uid') == $uid))")
  [[ $left -eq 0 ]] && break
  sleep 0.1
done
[[ $held -gt 0 && $left -eq 0 ]] || fail "BPF programs of uid $uid: $held while running, $left 5 s after exit"
pgrep -u netobs >/dev/null && fail "processes of the netobs user still running"
pass "SIGTERM: exit 0, $held BPF programs while running, 0 after"

# ---- 4. reinstall over edited conffiles, purge -----------------------------------
step "reinstall over edited conffiles, purge"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" </dev/null >"$work/dpkg-re.log" 2>&1 ||
  { cat "$work/dpkg-re.log"; fail "reinstall"; }
grep -q "127.0.0.1:$port" /etc/default/netobs || fail "reinstall lost the edit of /etc/default/netobs"
grep -q "^# local edit kept across reinstall" /etc/netobs/netobs.yaml ||
  fail "reinstall lost the edit of /etc/netobs/netobs.yaml"
dpkg --purge netobs >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
for f in /usr/bin/netobs_exporter /usr/bin/netobs /usr/lib/netobs /etc/netobs /etc/default/netobs \
  /lib/systemd/system/netobs.service /var/lib/netobs /usr/share/doc/netobs \
  /etc/systemd/system/multi-user.target.wants/netobs.service; do
  [[ -e $f ]] && fail "$f left after purge"
done
dpkg-query -W netobs >/dev/null 2>&1 && fail "dpkg still knows netobs after purge"
getent passwd netobs >/dev/null || fail "purge removed the netobs user (it should stay)"
pgrep -u netobs >/dev/null && fail "processes of the netobs user left after purge"
pass "reinstall kept both edits; purge removed files and conffiles, kept the user"

# ---- 5. the .rpm -------------------------------------------------------------------
step "rpm queries and scratch-root install"
rpm_list=$(rpm -qlp "$rpm_file" 2>/dev/null)
want_list="/etc/netobs
/etc/netobs/netobs.yaml
/etc/sysconfig/netobs
/usr/bin/netobs
/usr/bin/netobs_exporter
/usr/lib/netobs
/usr/lib/netobs/libnetobs_openssl_crypto.so
/usr/lib/netobs/libnetobs_openssl_ssl.so
/usr/lib/systemd/system/netobs.service
/usr/share/bash-completion/completions/netobs
/usr/share/bash-completion/completions/netobs_exporter
/usr/share/doc/netobs
/usr/share/doc/netobs/copyright
/usr/share/man/man1/netobs.1.gz
/usr/share/man/man8/netobs_exporter.8.gz"
[[ $rpm_list == "$want_list" ]] || fail "rpm -qlp: $(diff <(echo "$want_list") <(echo "$rpm_list") | tr '\n' ' ')"
[[ $(rpm -qcp "$rpm_file" 2>/dev/null) == $'/etc/netobs/netobs.yaml\n/etc/sysconfig/netobs' ]] ||
  fail "rpm config files: $(rpm -qcp "$rpm_file" 2>/dev/null | tr '\n' ' ')"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm_file" 2>/dev/null |
  grep -q "^cn /etc/netobs/netobs.yaml" || fail "netobs.yaml is not %config(noreplace)"
scripts=$(rpm -qp --scripts "$rpm_file" 2>/dev/null)
for want in "preinstall scriptlet" "useradd -r -g netobs -d /var/lib/netobs -s /sbin/nologin" \
  "groupadd -r netobs" "install -d -o netobs -g netobs -m 0750 /var/lib/netobs" \
  "systemctl --no-reload preset netobs.service" \
  "systemctl --no-reload disable --now netobs.service" "systemctl try-restart netobs.service"; do
  grep -qF -- "$want" <<<"$scripts" || fail "rpm scripts lack: $want"
done
requires=$(rpm -qp --requires "$rpm_file" 2>/dev/null)
for want in "libbpf.so.1()(64bit)" "libyaml-cpp.so.0.7()(64bit)" "libcivetweb.so.1()(64bit)" \
  "libstdc++.so.6()(64bit)" "libc.so.6()(64bit)" "libdeflate.so.0()(64bit)" "shadow-utils" "/bin/sh"; do
  grep -qxF -- "$want" <<<"$requires" || fail "rpm requires lacks $want"
done
grep -q "_FORTIFY_SOURCE=3" "$prefix-rpm/CMakeCache.txt" || fail "rpm tree: no %optflags"
root=$work/rpmroot
mkdir -p "$root"
# Scriptlets need a shell inside the root; the scratch root has none.
rpm --root "$root" --nodeps --noscripts -i "$rpm_file" >"$work/rpm-i.log" 2>&1 ||
  { cat "$work/rpm-i.log"; fail "rpm --root install"; }
for f in usr/bin/netobs_exporter usr/bin/netobs etc/netobs/netobs.yaml etc/sysconfig/netobs \
  usr/lib/systemd/system/netobs.service usr/share/man/man8/netobs_exporter.8.gz; do
  [[ -e $root/$f ]] || fail "rpm scratch install: /$f missing"
done
grep -q "EnvironmentFile=-/etc/sysconfig/netobs" "$root/usr/lib/systemd/system/netobs.service" ||
  fail "rpm unit does not read /etc/sysconfig/netobs"
"$root/usr/bin/netobs_exporter" --version | grep -q "$version" || fail "rpm binary --version"
rpm --root "$root" -q netobs >/dev/null 2>&1 || fail "rpm database in the scratch root lacks netobs"
pass "rpm: file list, config files, scripts, requires, scratch-root install"

step "done: $failures failure(s) in $((SECONDS - started)) s"
[[ $failures -eq 0 ]]
