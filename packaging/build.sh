#!/usr/bin/env bash
# Builds the netobs package from this checkout, the way the distributions
# build: only the two binaries, no -Werror.
#   bash packaging/build.sh deb [BUILD_DIR]   # -> BUILD_DIR/packages/netobs_<version>_<arch>.deb
#   bash packaging/build.sh rpm [BUILD_DIR]   # -> BUILD_DIR/packages/netobs-<version>-1.<arch>.rpm
# deb: CMAKE_BUILD_TYPE=None with the flags of dpkg-buildflags (hardening=+all:
#      -fstack-protector-strong, -D_FORTIFY_SOURCE=2, -z relro -z now, PIE),
#      as debhelper's cmake build system passes them.
# rpm: Fedora's %optflags and %build_ldflags (without -flto and the gcc spec
#      files, which Debian's compiler does not have), CMAKE_BUILD_TYPE=Release
#      with -DNDEBUG only, as Fedora's %cmake does.
# SOURCE_DATE_EPOCH defaults to the commit time, so two builds of one commit
# in the same directory give identical packages (packaging/reproducible.sh).
set -euo pipefail
flavor=${1:-}
case $flavor in
  deb | rpm) ;;
  *) echo "usage: $0 deb|rpm [BUILD_DIR]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
build_dir=${2:-build-$flavor}
packaging/install-deps.sh "package-$flavor"
jobs=${NETOBS_JOBS:-$(nproc)}

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

common=(-DCMAKE_INSTALL_PREFIX=/usr -DNETOBS_BUILD_TESTS=OFF -DNETOBS_WERROR=OFF
  -DNETOBS_PACKAGE_FLAVOR="$flavor")
if [[ $flavor == deb ]]; then
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  cppflags=$(dpkg-buildflags --get CPPFLAGS)
  CFLAGS="$(dpkg-buildflags --get CFLAGS) $cppflags"
  CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $cppflags"
  LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
  build_type=(-DCMAKE_BUILD_TYPE=None)
else
  optflags="-O2 -fexceptions -g -grecord-gcc-switches -pipe -Wall -Werror=format-security"
  optflags+=" -Wp,-U_FORTIFY_SOURCE,-D_FORTIFY_SOURCE=3 -Wp,-D_GLIBCXX_ASSERTIONS"
  optflags+=" -fstack-protector-strong -fasynchronous-unwind-tables -fstack-clash-protection"
  [[ $(uname -m) == x86_64 ]] && optflags+=" -m64 -mtune=generic -fcf-protection"
  CFLAGS=$optflags
  CXXFLAGS=$optflags
  LDFLAGS="-Wl,-z,relro -Wl,--as-needed -Wl,-z,now"
  build_type=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE=-DNDEBUG
    -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG)
fi
export CFLAGS CXXFLAGS LDFLAGS

cmake -S . -B "$build_dir" "${build_type[@]}" "${common[@]}" >/dev/null
cmake --build "$build_dir" -j"$jobs" --target netobs_exporter netobs netobs_package_docs
rm -rf "$build_dir/packages"
(cd "$build_dir" && cpack -G "${flavor^^}" >/dev/null)
ls "$build_dir"/packages/*."$flavor"
