#!/usr/bin/env bash
# Installs the C interface as a drop-in libquic: the headers (linux/quic.h,
# netinet/quic.h), the library as libquic.so and libquicsock-preload.so, and libquic.pc
# for pkg-config.
#   bash crates/quicsock-ffi/install.sh PREFIX [LIBRARY]
# LIBRARY is a built libquicsock_ffi.so; without it a release build is made.
# Then: cc prog.c $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs libquic)
#  or:  LD_PRELOAD=PREFIX/lib/libquicsock-preload.so ./prog
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 PREFIX [LIBRARY]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
lib=${2:-}
if [ -z "$lib" ]; then
  cargo build --release -q -p quicsock-ffi --manifest-path "$here/../../Cargo.toml"
  lib="$here/../../target/release/libquicsock_ffi.so"
fi
if [ ! -f "$lib" ]; then
  echo "$0: $lib: no such library" >&2
  exit 1
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../../Cargo.toml" | head -1)
install -d "$prefix/include/linux" "$prefix/include/netinet" "$prefix/lib/pkgconfig"
install -m 644 "$here/include/linux/quic.h" "$prefix/include/linux/quic.h"
install -m 644 "$here/include/netinet/quic.h" "$prefix/include/netinet/quic.h"
install -m 755 "$lib" "$prefix/lib/libquicsock_ffi.so"
ln -sf libquicsock_ffi.so "$prefix/lib/libquic.so"
ln -sf libquicsock_ffi.so "$prefix/lib/libquicsock-preload.so"
cat > "$prefix/lib/pkgconfig/libquic.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libquic
Description: Linux QUIC's libquic and IPPROTO_QUIC sockets, in userspace on quicsock
Version: $version
Requires: gnutls
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lquic
Cflags: -I\${includedir}
PC
echo "installed libquic $version in $prefix"
