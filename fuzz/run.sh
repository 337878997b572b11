#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after another (never two at once: shared machines),
# at the lowest CPU priority, and prints: target, seconds, execs, crashes.
#
#   fuzz/run.sh 600                 # ten minutes per target
#   TARGETS="smtp_reply" fuzz/run.sh 60
#   SANITIZER=none fuzz/run.sh 60   # when the toolchain has no ASan runtime
#
# The toolchain may be stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly-only flags.
# Reproduce a crash: fuzz/target/x86_64-unknown-linux-gnu/release/TARGET fuzz/artifacts/TARGET/crash-...
# Seeds (committed) are in fuzz/seeds/TARGET; what libFuzzer learns goes to fuzz/corpus/TARGET,
# crashes to fuzz/artifacts/TARGET (both ignored by git). Logs: fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: fuzz/run.sh SECONDS}
targets=${TARGETS:-"smtp_reply playbook_load queue_listing triage_line"}
sanitizer=${SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

mkdir -p logs
# Build once, then run the binaries: `cargo fuzz run` would rebuild whenever the sources change.
nice -n 19 cargo fuzz build --sanitizer "$sanitizer" >logs/build.log 2>&1 ||
    { echo "build failed (see fuzz/logs/build.log; SANITIZER=none without an ASan runtime)" >&2; exit 1; }
bin=target/x86_64-unknown-linux-gnu/release

printf '%-15s %8s %12s %8s\n' target seconds execs crashes
status=0
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log="logs/$target.log"
    # -rss_limit_mb and -timeout turn memory blow-ups and hangs into reported crashes too.
    ASAN_OPTIONS=detect_odr_violation=0 nice -n 19 "$bin/$target" "corpus/$target" "seeds/$target" \
        -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=1
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(find "artifacts/$target" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
    printf '%-15s %8s %12s %8s\n' "$target" "$seconds" "${execs:-?}" "$crashes"
    [ "$crashes" = 0 ] || status=1
done
exit "$status"
