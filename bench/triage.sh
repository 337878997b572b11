#!/usr/bin/env bash
# P2 — log triage throughput: `mxdoctor triage` on a generated 1 GiB maillog (examples/maillog.rs:
# Postfix, Sendmail, FortiMail and Exim lines, 1.5% symptoms taken from the playbooks' examples)
# against GNU `grep -E -f` with the same symptom patterns (`mxdoctor playbooks patterns`).
#
# grep is 100x slower on these patterns, so it reads only the first GREP_MB (default 16) MiB; both
# are compared in MB/s. grep runs in the C locale (its fastest; in UTF-8 it is ~8x slower still),
# once with the exact patterns and once with `--fold-case` + `grep -i`; the faster one counts.
#
#   bench/triage.sh           # goal: >= 2x grep's MB/s, peak RSS <= 32 MB
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build
require grep

LOG_BYTES=${LOG_BYTES:-1073741824}
GREP_MB=${GREP_MB:-16}
LOG="$BENCH_DIR/maillog-$LOG_BYTES.log"
[ "$(stat -c %s "$LOG" 2>/dev/null || echo 0)" -ge "$LOG_BYTES" ] || "$EXAMPLES/maillog" "$LOG" "$LOG_BYTES"
SLICE="$BENCH_DIR/maillog-${GREP_MB}m.log"
[ -s "$SLICE" ] || head -c $((GREP_MB * 1048576)) "$LOG" | sed '$d' >"$SLICE"
"$BIN" playbooks patterns >"$BENCH_DIR/patterns.txt"
"$BIN" playbooks patterns --fold-case >"$BENCH_DIR/patterns-i.txt" 2>/dev/null

log_mb=$(calc "$(stat -c %s "$LOG") / 1000000")
slice_mb=$(calc "$(stat -c %s "$SLICE") / 1000000")

best_of "$BENCH_DIR/triage.txt" "$BIN" triage "$LOG"
ours=$(calc "$log_mb / $BEST_SECONDS" %.1f)
ours_kb=$PEAK_KB
echo "mxdoctor triage: ${log_mb} MB in ${BEST_SECONDS} s = ${ours} MB/s, peak RSS ${ours_kb} kB"

RUNS=1 best_of "$BENCH_DIR/grep.txt" env LC_ALL=C grep -E -c -f "$BENCH_DIR/patterns.txt" "$SLICE"
grep_exact=$(calc "$slice_mb / $BEST_SECONDS" %.2f)
RUNS=1 best_of "$BENCH_DIR/grep-i.txt" env LC_ALL=C grep -E -i -c -f "$BENCH_DIR/patterns-i.txt" "$SLICE"
grep_fold=$(calc "$slice_mb / $BEST_SECONDS" %.2f)
echo "grep -E -f (C locale): ${grep_exact} MB/s exact patterns, ${grep_fold} MB/s with -i, on ${slice_mb} MB; $(cat "$BENCH_DIR/grep.txt") matching lines"
grep_best=$(awk -v a="$grep_exact" -v b="$grep_fold" 'BEGIN { print (a > b ? a : b) }')
ratio=$(calc "$ours / $grep_best" %.0f)
row "P2 triage throughput | ${ours} MB/s | grep ${grep_best} MB/s | ${ratio}x | >= 2x | $(meets "$ratio >= 2")"
row "P2 triage peak RSS | $((ours_kb / 1024)) MiB | - | - | <= 32 MB | $(meets "$ours_kb <= 32768")"
