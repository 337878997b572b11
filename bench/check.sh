#!/usr/bin/env bash
# P1 — `check` against its critical path: a lab with 2 MX hosts, 30 DNSBL/SURBL zones of which one
# answers after 3 s, HTTP egress, and every health check on (SPF, whose include is in the slow zone,
# DMARC, DKIM, FCrDNS with --outbound-ip, IPv6 over ::1) (examples/bench_lab.rs). Reports the wall time of `check`, the
# latency of its slowest single probe (from the JSON observations), and the sum of all probe
# latencies (what running the same probes one after another would take).
#
#   bench/check.sh            # RUNS=3 by default; goal: wall / slowest probe <= 1.10
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build
require python3

# The lab runs in its own process (stopped when this script exits).
start_bench_lab check
lab=$LAB_JSON
echo "$lab" >"$BENCH_DIR/check-lab.json"
mapfile -t args < <(python3 - "$BENCH_DIR/check-lab.json" <<'PY'
import json, sys
lab = json.load(open(sys.argv[1]))
args = ["check", lab["domain"], "--dns", lab["dns"], "--smtp-port", str(lab["smtp_port"]),
        "--tls-ca", lab["tls_ca"], "--http-egress", lab["http"], "--format", "json", "--no-progress",
        "--dkim-selector", lab["dkim_selector"], "--outbound-ip", lab["outbound_ip"]]
for zone in lab["dnsbl"]:
    args += ["--dnsbl", zone]
for zone in lab["surbl"]:
    args += ["--surbl", zone]
print("\n".join(args))
PY
)

best_of "$BENCH_DIR/check.json" "$BIN" "${args[@]}"
read -r slowest_ms total_ms probes < <(python3 - "$BENCH_DIR/check.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
latencies = [o["latency_ms"] for o in report["observations"]]
print(max(latencies), sum(latencies), len(latencies))
slowest = sorted(report["observations"], key=lambda o: -o["latency_ms"])[:4]
print(" ".join(f'{o["check"]}={o["latency_ms"]}' for o in slowest), file=sys.stderr)
PY
)
wall_ms=$(calc "$BEST_SECONDS * 1000" %.0f)
echo "check wall: ${wall_ms} ms (fastest of $RUNS), slowest probe: ${slowest_ms} ms, $probes observations summing ${total_ms} ms"
ratio=$(calc "$wall_ms / $slowest_ms")
row "P1 check vs critical path | wall ${wall_ms} ms | slowest probe ${slowest_ms} ms | ${ratio} | <= 1.10 | $(meets "$ratio <= 1.10")"
row "P1 check vs one-by-one | wall ${wall_ms} ms | sum of probes ${total_ms} ms | $(calc "$wall_ms / $total_ms") | (lower is better) | -"
