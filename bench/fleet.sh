#!/usr/bin/env bash
# P4 — fleet: `check --targets` on DOMAINS (default 10,000) generated domains, each an MX lookup, its
# address and PTR, and one DNSBL lookup of the MX address, against the lab DNS server
# (examples/bench_lab.rs; every 10th MX is listed). SMTP and HTTP probes are skipped (--skip).
#
#   bench/fleet.sh            # goal: >= 1,000 domains/s, peak RSS <= 100 MB
#   SKIP=smtp,http,auth,rdns,tls-policy,dnssec,ipv6 bench/fleet.sh   # the four lookups alone
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build
require python3

DOMAINS=${DOMAINS:-10000}
CONCURRENCY=${CONCURRENCY:-256}
TARGETS="$BENCH_DIR/fleet-$DOMAINS.txt"
start_bench_lab fleet "$DOMAINS" "$TARGETS"
lab=$LAB_JSON
dns=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["dns"])' "$lab")

best_of "$BENCH_DIR/fleet.jsonl" "$BIN" check --targets "$TARGETS" --concurrency "$CONCURRENCY" \
    --dns "$dns" --dnsbl bl.fleet.test --skip "${SKIP:-smtp,http}" --format json --no-progress
reports=$(wc -l <"$BENCH_DIR/fleet.jsonl")
listed=$(grep -c '"playbook":"dnsbl-listed"' "$BENCH_DIR/fleet.jsonl" || true)
rate=$(calc "$reports / $BEST_SECONDS" %.0f)
echo "fleet: $reports reports ($listed listed) in ${BEST_SECONDS} s = ${rate} domains/s, peak RSS ${PEAK_KB} kB"
[ "$reports" -eq "$DOMAINS" ] || { echo "bench: expected $DOMAINS reports" >&2; exit 1; }
row "P4 fleet rate | ${rate} domains/s | - | - | >= 1000/s | $(meets "$rate >= 1000")"
row "P4 fleet peak RSS | $((PEAK_KB / 1024)) MiB | - | - | <= 100 MB | $(meets "$PEAK_KB <= 102400")"
