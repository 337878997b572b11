#!/usr/bin/env bash
# P6 — bounce mailbox triage: a maildir of 1,000 bounce messages (the corpus in
# tests/fixtures/bounces/, every dialect, copied round-robin) through `mxdoctor triage MAILDIR`:
# messages per second and peak RSS. Each message is parsed (MIME, charsets), its DSN read per
# recipient and its reasons matched; the report aggregates reason x recipient domain.
#
#   bench/bounces.sh          # goal: >= 500 messages/s, peak RSS <= 64 MB
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build

MESSAGES=${MESSAGES:-1000}
MAILDIR="$BENCH_DIR/bounces-maildir-$MESSAGES"
if [ ! -d "$MAILDIR/cur" ] || [ "$(find "$MAILDIR/cur" -type f | wc -l)" -ne "$MESSAGES" ]; then
    rm -rf "$MAILDIR"
    mkdir -p "$MAILDIR/cur" "$MAILDIR/new" "$MAILDIR/tmp"
    mapfile -t corpus < <(find tests/fixtures/bounces -name '*.eml' | sort)
    for i in $(seq 0 $((MESSAGES - 1))); do
        cp "${corpus[$((i % ${#corpus[@]}))]}" "$MAILDIR/cur/$(printf '%06d' "$i").bench:2,S"
    done
fi
bytes=$(du -sb "$MAILDIR/cur" | cut -f1)

best_of "$BENCH_DIR/bounces.txt" "$BIN" triage "$MAILDIR" --format json
rate=$(calc "$MESSAGES / $BEST_SECONDS" %.0f)
echo "mxdoctor triage maildir: $MESSAGES messages ($((bytes / 1024)) KiB) in ${BEST_SECONDS} s = ${rate} messages/s, peak RSS ${PEAK_KB} kB"
row "P6 bounce maildir ${MESSAGES} messages | ${rate} msg/s, $((PEAK_KB / 1024)) MiB | - | - | >= 500/s, <= 64 MB | $(meets "$rate >= 500 && $PEAK_KB <= 65536")"
