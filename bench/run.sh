#!/usr/bin/env bash
# The whole bench in one command: builds --release once, runs P1-P6 (each also runnable alone:
# bench/check.sh, triage.sh, queue.sh, fleet.sh, startup.sh, bounces.sh) and prints one table of ratios.
#
#   bench/run.sh              # everything (~5 minutes; generated inputs are reused next time)
#   bench/run.sh check fleet  # only some parts
#   RUNS=5 bench/run.sh       # more runs per measurement (the fastest counts)
#
# Needs: python3, GNU time (/usr/bin/time), grep, jq; hyperfine is used when installed.
# Everything runs on 127.0.0.0/8 and the temp dir; benches never use the system resolver.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(check triage queue fleet startup bounces)

echo "building (release)..."
cargo build --release --quiet --bin mxdoctor --example maillog --example bench_lab
export NO_BUILD=1
export BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/mxdoctor-bench}
mkdir -p "$BENCH_DIR"

rows="$BENCH_DIR/rows.txt"
: >"$rows"
for part in "${parts[@]}"; do
    echo "== $part"
    case "$part" in
        queue) QUEUE_FILE="$BENCH_DIR/queue-1m.jsonl" bash bench/queue.sh ;;
        *) bash "bench/$part.sh" ;;
    esac | tee "$BENCH_DIR/$part.log"
    grep '^row: ' "$BENCH_DIR/$part.log" | sed 's/^row: //' >>"$rows" || true
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| part | mxdoctor | baseline | ratio | goal | met |"
echo "|---|---|---|---|---|---|"
sed 's/^/| /; s/$/ |/' "$rows"
