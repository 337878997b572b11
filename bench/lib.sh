# shellcheck shell=bash
# Shared helpers of the bench scripts (sourced, not run): where inputs live, how a command is timed,
# and the `row:` line each part ends with, which bench/run.sh collects into one table.
#
# Every part takes the fastest of RUNS runs (default 3): the machines are shared and noisy, and the
# minimum is the run least disturbed by others. Ratios are computed from those minimums.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-3}
# Generated inputs are kept here and reused across runs (a 1 GiB log takes a while to write).
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/mxdoctor-bench}
mkdir -p "$BENCH_DIR"
# shellcheck disable=SC2034 # used by the scripts that source this file
BIN=target/release/mxdoctor
# shellcheck disable=SC2034
EXAMPLES=target/release/examples

# Builds the binary and the bench examples once (bench/run.sh sets NO_BUILD for the parts).
build() {
    if [ -z "${NO_BUILD:-}" ]; then
        cargo build --release --quiet --bin mxdoctor --example maillog --example bench_lab
    fi
}

require() {
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            echo "bench: '$tool' is needed (Debian: apt-get install $tool)" >&2
            exit 1
        fi
    done
}

# timed OUT CMD...: runs CMD with stdout to OUT; sets SECONDS_TAKEN and PEAK_KB (GNU time).
# Exit codes 0-2 are verdicts; only 3 and above (or a signal) fail the bench.
timed() {
    local out=$1 status=0
    shift
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.txt" "$@" >"$out" || status=$?
    if [ "$status" -gt 2 ]; then
        echo "bench: '$*' failed (exit $status)" >&2
        return 1
    fi
    read -r SECONDS_TAKEN PEAK_KB < <(tail -1 "$BENCH_DIR/time.txt")
}

# best_of OUT CMD...: the fastest of RUNS runs; sets BEST_SECONDS and PEAK_KB (the largest seen).
best_of() {
    local out=$1 peak=0
    shift
    BEST_SECONDS=
    for _ in $(seq "$RUNS"); do
        timed "$out" "$@"
        if [ -z "$BEST_SECONDS" ] || awk -v a="$SECONDS_TAKEN" -v b="$BEST_SECONDS" 'BEGIN { exit !(a < b) }'; then
            BEST_SECONDS=$SECONDS_TAKEN
        fi
        [ "$PEAK_KB" -gt "$peak" ] && peak=$PEAK_KB
    done
    PEAK_KB=$peak
}

# calc EXPR: floating-point arithmetic (awk), printed with FORMAT (default %.2f).
calc() {
    awk "BEGIN { printf \"${2:-%.2f}\", $1 }"
}

# meets "EXPR": "yes" when the awk condition holds, else "NO".
meets() {
    if awk "BEGIN { exit !($1) }"; then echo yes; else echo NO; fi
}

# row PART | WHAT | MXDOCTOR | BASELINE | RATIO | GOAL | MET: one line of the final table.
row() {
    echo "row: $*"
}

# Starts examples/bench_lab with the given arguments in the background, sets LAB_JSON to the line of
# addresses it prints first, and stops it (by closing its stdin) when the script exits.
start_bench_lab() {
    coproc LAB { "$EXAMPLES/bench_lab" "$@"; }
    LAB_STDIN=${LAB[1]}
    trap stop_bench_lab EXIT
    # shellcheck disable=SC2034 # read by the sourcing bench script
    read -r LAB_JSON <&"${LAB[0]}"
}

stop_bench_lab() {
    exec {LAB_STDIN}>&- 2>/dev/null || true
    wait 2>/dev/null || true
}
