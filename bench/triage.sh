#!/usr/bin/env bash
# P2 — log triage throughput: `mxdoctor triage` (every shipped playbook) on a generated 1 GiB maillog
# (examples/maillog.rs: Postfix, Sendmail, FortiMail and Exim lines, 1.5% symptoms taken from the
# playbooks' examples), measured side by side in one run against three baselines on the same file:
#
#   1. the user's alternative: `LC_ALL=C grep -c -i -E -f bench/phrases.txt`, one plain phrase per
#      seed symptom (what someone would type instead of running mxdoctor);
#   2. GNU grep with the exported symptom patterns (`mxdoctor playbooks patterns`): so slow that it
#      reads only the first GREP_MB (default 16) MiB, compared in MB/s; the faster of exact patterns
#      and `--fold-case` + `grep -i` counts;
#   3. `wc -l`: reading the file and finding its newlines, the floor no line-oriented tool beats.
#
#   bench/triage.sh           # goal: >= 2x grep with plain phrases, peak RSS <= 32 MiB
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build
require grep wc

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
cat "$LOG" >/dev/null # into the page cache: every contender reads it from memory

best_of "$BENCH_DIR/triage.txt" "$BIN" triage --no-progress "$LOG"
ours=$BEST_SECONDS
ours_kb=$PEAK_KB
echo "mxdoctor triage: ${log_mb} MB in ${ours} s = $(calc "$log_mb / $ours" %.1f) MB/s, peak RSS ${ours_kb} kB"

best_of "$BENCH_DIR/grep-phrases.txt" env LC_ALL=C grep -c -i -E -f bench/phrases.txt "$LOG"
phrases=$BEST_SECONDS
echo "grep -c -i -E -f bench/phrases.txt ($(wc -l <bench/phrases.txt) phrases, C locale): ${phrases} s, $(cat "$BENCH_DIR/grep-phrases.txt") matching lines"

best_of "$BENCH_DIR/wc.txt" wc -l "$LOG"
floor=$BEST_SECONDS
echo "wc -l: ${floor} s"

RUNS=1 best_of "$BENCH_DIR/grep.txt" env LC_ALL=C grep -E -c -f "$BENCH_DIR/patterns.txt" "$SLICE"
grep_exact=$(calc "$slice_mb / $BEST_SECONDS" %.2f)
RUNS=1 best_of "$BENCH_DIR/grep-i.txt" env LC_ALL=C grep -E -i -c -f "$BENCH_DIR/patterns-i.txt" "$SLICE"
grep_fold=$(calc "$slice_mb / $BEST_SECONDS" %.2f)
echo "grep -E -f exported patterns (C locale): ${grep_exact} MB/s exact, ${grep_fold} MB/s with -i, on ${slice_mb} MB"
grep_best=$(awk -v a="$grep_exact" -v b="$grep_fold" 'BEGIN { print (a > b ? a : b) }')
ours_mbs=$(calc "$log_mb / $ours" %.1f)

ratio_phrases=$(calc "$phrases / $ours" %.2f)
ratio_patterns=$(calc "$ours_mbs / $grep_best" %.0f)
ratio_floor=$(calc "$floor / $ours" %.2f)
row "P2 triage vs grep, plain phrases (1 GiB) | ${ours} s | grep -i ${phrases} s | ${ratio_phrases}x | >= 2x | $(meets "$ratio_phrases >= 2")"
row "P2 triage vs grep, exported patterns | ${ours_mbs} MB/s | grep ${grep_best} MB/s | ${ratio_patterns}x | >= 2x | $(meets "$ratio_patterns >= 2")"
row "P2 triage vs wc -l (the floor) | ${ours} s | wc -l ${floor} s | ${ratio_floor}x | (1x = as fast as reading) | -"
row "P2 triage peak RSS | $((ours_kb / 1024)) MiB | - | - | <= 32 MiB | $(meets "$ours_kb <= 32768")"
