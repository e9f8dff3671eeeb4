#!/bin/sh
# Whole-process times of `superbound loss` and the Python `fractions` reference on one JSON file,
# interleaved (so load on a shared machine hits both alike), after checking that both print the
# same exact loss. Reports wall-clock and CPU (user + sys, from wait4's rusage) medians and
# minima and the ratios; on a loaded machine the CPU ratio is the steadier figure.
# usage: benches/whole_process.sh W.json [REPS] [superbound binary]
set -eu
W=$1; REPS=${2:-15}; BIN=${3:-target/release/superbound}
HERE=$(dirname "$0")
SB_LOSS=$("$BIN" loss --act power --p 3 --density 1/100 --json --weights "$W" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["loss"])')
PY_LOSS=$(python3 "$HERE/reference_loss.py" "$W" 3 1/100)
[ "$SB_LOSS" = "$PY_LOSS" ] || { echo "exact values differ" >&2; exit 1; }
python3 - "$REPS" "$BIN" "$W" "$HERE/reference_loss.py" <<'PY'
import os, subprocess, sys, time
reps, binary, w, ref = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmds = {
    "superbound": [binary, "loss", "--act", "power", "--p", "3", "--density", "1/100", "--json",
                   "--weights", w],
    "python fractions": [sys.executable, ref, w, "3", "1/100"],
}
times = {k: ([], []) for k in cmds}
for _ in range(reps):
    for name, cmd in cmds.items():
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        assert status == 0, f"{name} failed"
        times[name][0].append(wall * 1e3)
        times[name][1].append((ru.ru_utime + ru.ru_stime) * 1e3)
med = lambda v: sorted(v)[(len(v) - 1) // 2]
print(f"same exact loss; {reps} interleaved runs (milliseconds)")
for name, (wall, cpu) in times.items():
    print(f"{name}: wall median {med(wall):.2f}, min {min(wall):.2f}; "
          f"cpu median {med(cpu):.2f}, min {min(cpu):.2f}")
(sw, sc), (pw, pc) = times["superbound"], times["python fractions"]
print(f"ratio python / superbound: wall {med(pw) / med(sw):.1f}x (medians), "
      f"{min(pw) / min(sw):.1f}x (minima); cpu {med(pc) / med(sc):.1f}x (medians), "
      f"{min(pc) / min(sc):.1f}x (minima)")
PY
