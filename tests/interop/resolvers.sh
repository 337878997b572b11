# Resolvers that lie, from real software: Debian's dnsmasq started twice on loopback, once answering
# NXDOMAIN for every name (`address=/#/`, what a sandbox or a captive portal without upstream
# gives) and once answering every name with an address (`address=/#/127.0.0.1`, NXDOMAIN
# rewriting). `mxdoctor check` through either must say UNKNOWN (exit 3, resolver-untrusted) and
# never blame the target, for a real-world name and for a lab domain.
# Sourced by run.sh after lib.sh, services.sh and cases.sh.
# shellcheck shell=bash

NXDOMAIN_RESOLVER_IP=127.0.0.45
ANSWERS_ALL_RESOLVER_IP=127.0.0.46

# dnsmasq in the foreground, no upstream, no /etc/hosts, on one loopback address only.
start_lying_resolver() {
    local ip=$1 address_rule=$2 name=$3
    require_loopback "$ip:53"
    start_bg "$RUN/$name.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root \
        --listen-address="$ip" --bind-interfaces --port=53 --no-resolv --no-hosts \
        --pid-file="$RUN/$name.pid" --address="$address_rule"
}

start_lying_resolvers() {
    start_lying_resolver "$NXDOMAIN_RESOLVER_IP" "/#/" dnsmasq-nxdomain
    start_lying_resolver "$ANSWERS_ALL_RESOLVER_IP" "/#/127.0.0.1" dnsmasq-answers-all
    local ip tries
    for ip in "$NXDOMAIN_RESOLVER_IP" "$ANSWERS_ALL_RESOLVER_IP"; do
        tries=50
        until dig +time=1 +tries=1 "@$ip" example.org A 2>/dev/null | grep -q "status:"; do
            ((--tries > 0)) || { echo "interop: dnsmasq on $ip does not answer" >&2; return 1; }
            sleep 0.1
        done
    done
}

# check_with_resolver NAME TARGET RESOLVER_IP: a DNS-only check through the given resolver.
check_with_resolver() {
    local name=$1 target=$2 resolver=$3 code=0
    "$MXDOCTOR" check "$target" --dns "$resolver:53" --skip smtp --timeout 2 --format json --no-progress \
        >"$RUN/$name.json" 2>"$RUN/$name.stderr" || code=$?
    echo "$code" >"$RUN/$name.code"
    jq -e .schema "$RUN/$name.json" >/dev/null 2>&1 || {
        not_ok "$name: mxdoctor printed no JSON report (exit $code): $(head -c 300 "$RUN/$name.stderr")"
        echo '{"findings":[],"observations":[]}' >"$RUN/$name.json"
    }
}

resolver_cases() {
    local resolver target name
    for resolver in "$NXDOMAIN_RESOLVER_IP" "$ANSWERS_ALL_RESOLVER_IP"; do
        for target in gmail.com gateway.lab.test; do
            name="lying-$resolver-$target"
            check_with_resolver "$name" "$target" "$resolver"
            expect_top "$name" resolver-untrusted 3
            assert_eq "$name: status" unknown "$(report "$name" .status)"
            assert_eq "$name: no finding about the target" "resolver-untrusted" \
                "$(report "$name" '[.findings[].playbook] | unique | join(",")')"
        done
    done
    row "(16) resolver answering NXDOMAIN for every name (dnsmasq)" "address=/#/" "lying-$NXDOMAIN_RESOLVER_IP-gmail.com"
    row "(17) resolver answering every name (dnsmasq)" "address=/#/127.0.0.1" "lying-$ANSWERS_ALL_RESOLVER_IP-gmail.com"
}
