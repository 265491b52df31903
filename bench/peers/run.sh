#!/usr/bin/env bash
# quicsock against s2n-quic, quiche and quinn in one sitting (see benches/peers/main.rs).
# Installs what quiche's BoringSSL build needs, then runs the benchmark:
#   bash bench/peers/run.sh [SECONDS [RUNS [SIZE...]]]
# Run it with nothing else busy: both cores are measured.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v cmake >/dev/null 2>&1 || ! ldconfig -p | grep -q libclang; then
  apt-get update -qq && apt-get install -y -qq cmake libclang-dev >/dev/null
fi
exec cargo bench --locked --bench peers -- "$@"
