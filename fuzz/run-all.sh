#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, two at a time, starting from the
# committed seeds. Needs cargo-fuzz and a nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
targets=$(cargo +nightly fuzz list)
cargo +nightly fuzz build
run() {
  mkdir -p "corpus/$1"
  cargo +nightly fuzz run "$1" "corpus/$1" "seeds/$1" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
    >"corpus/$1.log" 2>&1 && echo "$1: clean, $(grep -o 'Done [0-9]* runs in [0-9]* second' "corpus/$1.log")" \
    || { echo "$1: FAILED (see fuzz/corpus/$1.log)"; return 1; }
}
status=0
set -- $targets
while [ $# -gt 0 ]; do
  run "$1" & a=$!
  b=
  if [ $# -gt 1 ]; then run "$2" & b=$!; fi
  wait $a || status=1
  if [ -n "$b" ]; then wait $b || status=1; fi
  shift; [ $# -gt 0 ] && shift
done
exit $status
