#!/usr/bin/env bash
# Installs the Debian packages netobs needs, only those missing.
#   packaging/install-deps.sh build   # to build and run the exporter
#   packaging/install-deps.sh test    # build + everything the test suite uses
#   packaging/install-deps.sh package-deb|package-rpm   # build + package tools
set -euo pipefail

build_packages=(
  cmake make g++ clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libdeflate-dev
  prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev git
  libssl-dev libcrypt-dev
)
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev libclang-rt-14-dev
  prometheus curl openssl iproute2 nftables iperf3 dnsmasq-base bind9-dnsutils dnsperf
  prometheus-node-exporter clang-format procps libcap2-bin
  prometheus-alertmanager python3 python3-jsonschema
  lintian rpmlint groff-base man-db bash-completion systemd
)
# Building the packages (packaging/build.sh): dpkg-shlibdeps, rpmbuild.
package_deb_packages=(dpkg-dev file)
package_rpm_packages=(rpm file)

case "${1:-build}" in
  build) wanted=("${build_packages[@]}") ;;
  test) wanted=("${build_packages[@]}" "${test_packages[@]}" "${package_deb_packages[@]}"
    "${package_rpm_packages[@]}") ;;
  package-deb) wanted=("${build_packages[@]}" "${package_deb_packages[@]}") ;;
  package-rpm) wanted=("${build_packages[@]}" "${package_rpm_packages[@]}") ;;
  *) echo "usage: $0 build|test|package-deb|package-rpm" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# policy-rc.d keeps package scripts from starting services (prometheus,
# node-exporter, dnsmasq): tests start their own, on their own ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get install -y --no-install-recommends "${missing[@]}"
