# The real software of the interop suite, started by hand (no systemd) on 127.0.0.0/8 only, every
# file under $RUN: nsd (authoritative DNS), dnsproxy.py (delays the slow DNSBL zone), postgrey,
# one postfix instance with a listener per personality, and silent.py (the host with no banner).
# Sourced by run.sh after lib.sh; every pid goes to STARTED_PIDS so the EXIT trap stops it.
# shellcheck shell=bash disable=SC2034 # the names below are read by cases.sh

# Where everything listens. require_loopback checks each of them, and every address in the configs.
# postfix/master.cf and dns/*.zone name the same addresses: change them together.
GATEWAY_IP=127.0.0.31      # (1) relay denied, unknown users rejected (also MX 10 of bypass.lab.test)
GREYLIST_IP=127.0.0.32     # (2) the same behind postgrey
VERIFY_IP=127.0.0.33       # (3) reject_unverified_recipient, verification target dead
OPEN_RELAY_IP=127.0.0.34   # (4) open relay
BACKUP_IP=127.0.0.35       # (5) unfiltered backup MX (MX 20 of bypass.lab.test)
SILENT_IP=127.0.0.36       # (6) never sends a banner
LISTED_IP=127.0.0.37       # (7) listed in bl.lab.test
DEAD_BACKEND_IP=127.0.0.39 # nothing listens here: the verification target of (3)
ONE_FAMILY_IP=127.0.0.90   # (9) listens on IPv4 only, while its AAAA record says ::1
DNS_PROXY=127.0.0.40:53    # what mxdoctor asks (--dns)
NSD_ADDR=127.0.0.41:53
POSTGREY_ADDR=127.0.0.42:10023
SMTP_PORT=25
POSTFIX_IPS=("$GATEWAY_IP" "$GREYLIST_IP" "$VERIFY_IP" "$OPEN_RELAY_IP" "$BACKUP_IP" "$LISTED_IP" "$ONE_FAMILY_IP")

LAB_ZONE=lab.test
LISTING_ZONE=bl.lab.test
SLOW_ZONE=slow-bl.lab.test
SLOW_DELAY=3    # seconds the slow DNSBL zone takes to answer
GREYLIST_DELAY=2 # postgrey --delay

require_configured_addresses_on_loopback() {
    require_loopback "${POSTFIX_IPS[@]}" "$SILENT_IP" "$DEAD_BACKEND_IP" "$DNS_PROXY" "$NSD_ADDR" "$POSTGREY_ADDR"
    require_loopback_in_files "$INTEROP_DIR"/postfix/*.cf "$INTEROP_DIR"/dns/*
}

# Copies a template to DEST with @RUN@, @ZONES@ and @CERTS@ filled in.
render() {
    sed -e "s#@RUN@#$RUN#g" -e "s#@ZONES@#$INTEROP_DIR/dns#g" -e "s#@CERTS@#$RUN/certs#g" "$1" >"$2"
}

# Fails unless every TCP address we are about to bind is free (another MTA on *:25 would collide).
require_ports_free() {
    local ip
    for ip in "${POSTFIX_IPS[@]}" "$SILENT_IP" "$DEAD_BACKEND_IP"; do
        tcp_port_free "$ip" "$SMTP_PORT" || { echo "interop: $ip:$SMTP_PORT is already in use" >&2; return 1; }
    done
    tcp_port_free "${POSTGREY_ADDR%:*}" "${POSTGREY_ADDR#*:}" || { echo "interop: $POSTGREY_ADDR is in use" >&2; return 1; }
}

# Waits until SERVER (IP:PORT) answers an SOA query for the lab zone.
wait_for_dns() {
    local server=$1 tries=50
    until dig +short +time=1 +tries=1 -p "${server#*:}" "@${server%:*}" SOA "$LAB_ZONE" 2>/dev/null | grep -q .; do
        ((--tries > 0)) || { echo "interop: no DNS answer from $server" >&2; return 1; }
        sleep 0.1
    done
}

start_dns() {
    mkdir -p "$RUN/nsd"
    render "$INTEROP_DIR/dns/nsd.conf" "$RUN/nsd/nsd.conf"
    nsd-checkconf "$RUN/nsd/nsd.conf"
    start_bg "$RUN/nsd/stdout" nsd -d -c "$RUN/nsd/nsd.conf"
    wait_for_dns "$NSD_ADDR" || { cat "$RUN/nsd/stdout" "$RUN/nsd/nsd.log" >&2 2>/dev/null; return 1; }
    start_bg "$RUN/dnsproxy.log" python3 "$INTEROP_DIR/dnsproxy.py" "$DNS_PROXY" "$NSD_ADDR" "$SLOW_ZONE" "$SLOW_DELAY"
    wait_for_dns "$DNS_PROXY"
}

start_postgrey() {
    mkdir -p "$RUN/postgrey"
    chown postgrey "$RUN/postgrey"
    postgrey --inet="$POSTGREY_ADDR" --delay="$GREYLIST_DELAY" --auto-whitelist-clients=0 \
        --dbdir="$RUN/postgrey" --pidfile="$RUN/postgrey/postgrey.pid" --daemonize
    adopt_pidfile "$RUN/postgrey/postgrey.pid"
    wait_for_tcp "${POSTGREY_ADDR%:*}" "${POSTGREY_ADDR#*:}"
}

# One postfix instance: private config dir, queue and data dir under $RUN; the system's untouched.
start_postfix() {
    local conf=$RUN/postfix ip
    mkdir -p "$conf" "$RUN/queue" "$RUN/data" "$RUN/certs"
    cp "$ROOT"/lab/src/certs/{valid.pem,valid.key,lab-ca.pem} "$RUN/certs/"
    chmod 600 "$RUN/certs/valid.key"
    chown postfix "$RUN/data"
    render "$INTEROP_DIR/postfix/main.cf" "$conf/main.cf"
    render "$INTEROP_DIR/postfix/master.cf" "$conf/master.cf"
    postfix -c "$conf" check
    if ! postfix -c "$conf" start >"$RUN/postfix.start" 2>&1; then
        cat "$RUN/postfix.start" "$RUN/maillog" >&2 2>/dev/null
        # postfix reports early config errors to syslog only when stderr is not a terminal
        echo "interop: postfix did not start; for details run: script -qc 'postfix -c $conf start' /dev/null" >&2
        return 1
    fi
    adopt_pidfile "$RUN/queue/pid/master.pid"
    for ip in "${POSTFIX_IPS[@]}"; do wait_for_tcp "$ip" "$SMTP_PORT"; done
}

start_silent_host() {
    start_bg "$RUN/silent.log" python3 "$INTEROP_DIR/silent.py" "$SILENT_IP:$SMTP_PORT"
    wait_for_tcp "$SILENT_IP" "$SMTP_PORT"
}

start_everything() {
    require_configured_addresses_on_loopback
    require_ports_free
    start_dns
    start_postgrey
    start_postfix
    start_silent_host
}
