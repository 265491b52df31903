#!/usr/bin/env bash
# Linux QUIC's perf_test modes in C (bench/perf.c) on quicsock's C interface, against
# quicperf on the same stack in the same run: throughput for 1, 4, 16 and 64 KiB messages
# at quicperf's default UDP payload (1452 bytes), as a ratio to quicperf, then
# request/response, and throughput without 1-RTT encryption.
#   bash crates/quicsock-ffi/bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release -q -p quicsock-ffi
cargo build --release -q -p quicsock-tools --bin quicperf
rel=$PWD/target/release
work=$(mktemp -d)
trap 'pkill -f "$work/perf -l" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/lib"
ln -s "$rel/libquicsock_ffi.so" "$work/lib/libquic.so"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I crates/quicsock-ffi/include crates/quicsock-ffi/bench/perf.c \
  -o "$work/perf" -L "$work/lib" -lquic -Wl,-rpath,"$work/lib"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
sizes="1024 4096 16384 65536"
mtu=1452

echo "== quicperf self-test, QUIC goodput in Gbit/s (--mtu $mtu)"
"$rel/quicperf" --time 2 --sizes "${sizes// /,}" --mtu $mtu 2>/dev/null |
  awk '/^goodput/ { t = 1; next } /per busy core/ { t = 0 } t && /^ *[0-9]+ \|/ { split($0, f, "|"); print f[1] + 0, f[2] + 0 }' > "$work/quicperf.txt"
cat "$work/quicperf.txt"

echo "== C perf_test over the C interface (1 GiB, --mtu $mtu)"
port=$((20000 + RANDOM % 20000))
"$work/perf" -l --port $port --mtu $mtu --cert "$work/cert.pem" --pkey "$work/key.pem" >/dev/null &
sleep 0.5
printf '%8s | %10s | %10s | %8s\n' msg_len "C Gbit/s" "quicperf" ratio
for m in $sizes; do
  c=$("$work/perf" --port $port --mtu $mtu --msg_len $m | awk '{ print $(NF-1) / 1000 }')
  q=$(awk -v m=$m '$1 == m { print $2 }' "$work/quicperf.txt")
  printf '%8s | %10.2f | %10.2f | %7.2fx\n' $m "$c" "$q" "$(echo "$c $q" | awk '{ print $1 / $2 }')"
done
"$work/perf" --port $port --mtu $mtu --mode 1 --num_reqs 20000
pkill -f "$work/perf -l" || true
sleep 0.2
"$work/perf" -l --port $((port + 1)) --mtu $mtu --no_crypt --cert "$work/cert.pem" --pkey "$work/key.pem" >/dev/null &
sleep 0.5
"$work/perf" --port $((port + 1)) --mtu $mtu --no_crypt --msg_len 65536
