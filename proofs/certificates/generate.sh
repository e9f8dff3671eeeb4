#!/usr/bin/env bash
# Regenerates the committed LP certificates: both activations, n = 2..10, m = 2..4, p = 1..3,
# uniform values, default degree. `cargo test` re-verifies every file from scratch.
set -euo pipefail
cd "$(dirname "$0")"
bin=../../target/release/superbound
cargo build --release --quiet
for act in power rect; do
  for p in 1 2 3; do
    for m in 2 3 4; do
      for n in $(seq 2 10); do
        out="$act-p$p-n$n-m$m.json"
        if ! "$bin" certify --act "$act" --p "$p" --n "$n" --m "$m" --save "$out" > /dev/null; then
          echo "no certificate for $out" >&2
        fi
      done
    done
  done
done
