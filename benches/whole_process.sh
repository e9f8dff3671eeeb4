#!/bin/sh
# Whole-process times of `superbound loss` and the Python `fractions` reference on one JSON file,
# interleaved (so load on a shared machine hits both alike); prints the medians and the ratio,
# after checking that both print the same exact loss.
# usage: benches/whole_process.sh W.json [REPS] [superbound binary]
set -eu
W=$1; REPS=${2:-15}; BIN=${3:-target/release/superbound}
HERE=$(dirname "$0")
SB_LOSS=$("$BIN" loss --act power --p 3 --density 1/100 --json --weights "$W" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["loss"])')
PY_LOSS=$(python3 "$HERE/reference_loss.py" "$W" 3 1/100)
[ "$SB_LOSS" = "$PY_LOSS" ] || { echo "exact values differ" >&2; exit 1; }
now() { date +%s%N; }
sb=""; py=""
i=0
while [ $i -lt "$REPS" ]; do
  t=$(now); "$BIN" loss --act power --p 3 --density 1/100 --json --weights "$W" >/dev/null; sb="$sb $(( ($(now) - t) / 1000 ))"
  t=$(now); python3 "$HERE/reference_loss.py" "$W" 3 1/100 >/dev/null; py="$py $(( ($(now) - t) / 1000 ))"
  i=$((i + 1))
done
median() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
min() { echo "$@" | tr ' ' '\n' | grep . | sort -n | head -1; }
echo "same exact loss; $REPS interleaved runs (microseconds)"
echo "superbound: median $(median $sb), min $(min $sb)"
echo "python fractions: median $(median $py), min $(min $py)"
awk -v a="$(median $py)" -v b="$(median $sb)" -v c="$(min $py)" -v d="$(min $sb)" \
  'BEGIN {printf "ratio python / superbound: %.1fx (medians), %.1fx (minima)\n", a / b, c / d}'
