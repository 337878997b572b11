#!/usr/bin/env bash
# P5 — start-up: wall time of `mxdoctor playbooks list` (hyperfine when installed, else the fastest
# of 50 runs timed by the shell) and the size of the release binary.
#
#   bench/startup.sh          # goal: <= 15 ms
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build

if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 5 --runs 50 --export-json "$BENCH_DIR/startup.json" \
        "$BIN playbooks list" >/dev/null
    read -r mean_ms min_ms < <(python3 - "$BENCH_DIR/startup.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))["results"][0]
print(f"{result['mean'] * 1000:.1f} {result['min'] * 1000:.1f}")
PY
)
else
    min_ms=
    total=0
    for _ in $(seq 50); do
        start=$(date +%s%N)
        "$BIN" playbooks list >/dev/null
        took=$((($(date +%s%N) - start) / 1000))
        total=$((total + took))
        if [ -z "$min_ms" ] || [ "$took" -lt "$min_ms" ]; then min_ms=$took; fi
    done
    mean_ms=$(calc "$total / 50 / 1000" %.1f)
    min_ms=$(calc "$min_ms / 1000" %.1f)
fi
size_mb=$(calc "$(stat -c %s "$BIN") / 1048576" %.1f)
echo "playbooks list: mean ${mean_ms} ms, fastest ${min_ms} ms; binary ${size_mb} MiB"
row "P5 start-up (playbooks list) | mean ${mean_ms} ms (min ${min_ms}) | - | - | <= 15 ms | $(meets "$mean_ms <= 15")"
row "P5 binary size | ${size_mb} MiB | - | - | - | -"
