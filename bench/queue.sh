#!/usr/bin/env bash
# Benchmarks `mxdoctor queue` on generated `postqueue -j` records (default 1,000,000) and prints the
# record count, wall-clock seconds and peak resident memory: the queue command must stream, so memory
# stays flat however long the listing is. With jq installed it also times a jq pass computing the
# same per-destination counts of deferred mail, and prints the ratio (bench/run.sh's P3 row).
#
#   bench/queue.sh              # 1,000,000 records
#   RECORDS=200000 bench/queue.sh
#   QUEUE_FILE=/tmp/q.jsonl bench/queue.sh   # keep the generated listing there and reuse it
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
NOW=1800000000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LISTING=${QUEUE_FILE:-$WORK/queue.jsonl}

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
BIN=target/release/mxdoctor

# Skewed traffic: 3000 destination domains (more than the 1000 kept apart, so folding is exercised),
# ages spread over six days, a few dead destinations, some held, bounces and in-flight mail.
if [ -s "$LISTING" ] && [ "$(wc -l <"$LISTING")" -eq "$RECORDS" ]; then
    echo "reusing $LISTING"
else
awk -v n="$RECORDS" -v now="$NOW" 'BEGIN {
    srand(42)
    split("deferred deferred deferred deferred deferred deferred deferred deferred active hold", queues, " ")
    for (i = 1; i <= n; i++) {
        d = int(3000 * rand() ^ 3)
        age = int(518400 * rand() ^ 2)
        q = queues[1 + int(10 * rand())]
        sender = (rand() < 0.02) ? "MAILER-DAEMON" : "user" int(500 * rand()) "@corp.example"
        r = rand()
        if (r < 0.5)      reason = sprintf("connect to mx.d%d.example[198.51.%d.%d]:25: Connection refused", d, d % 256, int(256 * rand()))
        else if (r < 0.8) reason = sprintf("delivery temporarily suspended: connect to mx.d%d.example[203.0.%d.%d]:25: Connection timed out", d, d % 256, int(256 * rand()))
        else              reason = sprintf("host mx.d%d.example[192.0.2.%d] said: 450 4.2.0 <u%d@d%d.example>: Recipient address rejected: Greylisted (in reply to RCPT TO command)", d, int(256 * rand()), i, d)
        printf "{\"queue_name\": \"%s\", \"queue_id\": \"%X\", \"arrival_time\": %d, \"message_size\": %d, \"forced_expire\": false, \"sender\": \"%s\", \"recipients\": [{\"address\": \"rcpt%d@d%d.example\", \"delay_reason\": \"%s\"}]}\n", q, 4096000000 + i, now - age, 1000 + int(90000 * rand()), sender, i, d, reason
    }
}' >"$LISTING"
fi

BYTES=$(wc -c <"$LISTING")
echo "input: $RECORDS records, $((BYTES / 1048576)) MiB"

status=0
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$BIN" queue --now "$NOW" --format json "$LISTING" >"$WORK/report.json" 2>"$WORK/time.txt" || status=$?
    seconds=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$WORK/time.txt")
    peak_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$WORK/time.txt")
else
    # No GNU time: sample the high-water mark from /proc while it runs.
    start=$(date +%s.%N)
    "$BIN" queue --now "$NOW" --format json "$LISTING" >"$WORK/report.json" &
    pid=$!
    peak_kb=0
    while kill -0 "$pid" 2>/dev/null; do
        hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${hwm:-0}" -gt "$peak_kb" ] && peak_kb=$hwm
        sleep 0.05
    done
    wait "$pid" || status=$?
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
fi

# Exit codes 0-2 are verdicts about the queue; 3 means the run itself failed.
if [ "$status" -gt 2 ]; then
    echo "mxdoctor failed (exit $status)" >&2
    cat "$WORK/time.txt" >&2 2>/dev/null || true
    exit 1
fi
read_records=$(grep -oE '"records": ?[0-9]+' "$WORK/report.json" | head -1 | cut -d: -f2 | tr -d " ")
echo "records: ${read_records:-?}"
echo "seconds: $seconds${cpu:+ (CPU: ${cpu} s)}"
echo "peak RSS: $((peak_kb / 1024)) MiB ($peak_kb kB)"

# The same per-destination counts of deferred mail (each message once per recipient domain) in jq.
# jq is ~50x slower, so it reads the first JQ_RECORDS records (default 200,000) and its time is
# scaled to the whole listing.
if command -v jq >/dev/null; then
    JQ_RECORDS=${JQ_RECORDS:-200000}
    [ "$JQ_RECORDS" -le "$RECORDS" ] || JQ_RECORDS=$RECORDS
    head -n "$JQ_RECORDS" "$LISTING" >"$WORK/jq-input.jsonl"
    jq_start=$(date +%s.%N)
    jq -n 'reduce (inputs | select(.queue_name == "deferred")
                   | [.recipients[].address | ascii_downcase | split("@") | last] | unique[]) as $d
           ({}; .[$d] += 1)' "$WORK/jq-input.jsonl" >"$WORK/jq.json"
    jq_seconds=$(awk -v a="$jq_start" -v b="$(date +%s.%N)" -v part="$JQ_RECORDS" -v all="$RECORDS" \
        'BEGIN { printf "%.2f", (b - a) * all / part }')
    echo "jq seconds: $jq_seconds (scaled from $JQ_RECORDS records; $(jq length "$WORK/jq.json") destinations)"
    ratio=$(awk -v j="$jq_seconds" -v m="$seconds" 'BEGIN { printf "%.1f", j / m }')
    echo "ratio jq/mxdoctor: $ratio"
    met=$(awk -v s="$seconds" -v r="$ratio" 'BEGIN { print (s <= 2 && r >= 5) ? "yes" : "NO" }')
    echo "row: P3 queue $RECORDS records | ${seconds} s, $((peak_kb / 1024)) MiB | jq ${jq_seconds} s | ${ratio}x | <= 2 s and >= 5x | $met"
fi
