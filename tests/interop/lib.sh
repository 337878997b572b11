# Shared helpers of the real-MTA interop suite (sourced by run.sh): the loopback guard, process
# bookkeeping that lets the EXIT trap stop exactly what the suite started, package installation,
# and the TAP-like assertions whose summary line CI reads.
# shellcheck shell=bash

PASSED=0
FAILED=0
STARTED_PIDS=()
CREATED_POLICY_RC=""

say() { printf '# %s\n' "$*"; }

# Fails the whole script unless every argument is an IPv4 address in 127.0.0.0/8 (a port may follow).
require_loopback() {
    local address
    for address in "$@"; do
        if [[ ! "$address" =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})([:@][0-9]+)?$ ]] ||
            ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255 || BASH_REMATCH[3] > 255)); then
            echo "interop: refusing to use '$address': only 127.0.0.0/8 is allowed" >&2
            exit 1
        fi
    done
}

# Every IPv4 address written in FILE... must be on loopback (catches a typo in a config file).
# Reversed addresses in DNSBL owner names (37.0.0.127.bl) are names, not addresses: not matched.
require_loopback_in_files() {
    local found
    found=$(grep -ohP '(?<![0-9.])[0-9]{1,3}(\.[0-9]{1,3}){3}(?![0-9]|\.[0-9a-z])' "$@" | sort -u || true)
    # shellcheck disable=SC2086 # one address per word
    [ -z "$found" ] || require_loopback $found
}

# Runs a command in the background and remembers its pid for stop_all.
start_bg() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    STARTED_PIDS+=("$!")
}

# Remembers a pid a daemon wrote to PIDFILE (waits up to 5 s for the file).
adopt_pidfile() {
    local pidfile=$1 tries=50
    until [ -s "$pidfile" ] || ((--tries == 0)); do sleep 0.1; done
    [ -s "$pidfile" ] || { echo "interop: no pid in $pidfile" >&2; return 1; }
    STARTED_PIDS+=("$(tr -dc '0-9' <"$pidfile")")
}

# Stops every remembered pid (TERM, then KILL after 3 s), newest first.
stop_pids() {
    local pid index tries
    for ((index = ${#STARTED_PIDS[@]} - 1; index >= 0; index--)); do
        pid=${STARTED_PIDS[index]}
        kill -TERM "$pid" 2>/dev/null || continue
        tries=30
        while kill -0 "$pid" 2>/dev/null && ((tries-- > 0)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    STARTED_PIDS=()
}

# Waits until something accepts TCP connections on IP:PORT (5 s at most).
wait_for_tcp() {
    local ip=$1 port=$2 tries=50
    until (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null; do
        ((--tries > 0)) || { echo "interop: nothing listens on $ip:$port" >&2; return 1; }
        sleep 0.1
    done
}

# True when nothing listens on IP:PORT now.
tcp_port_free() {
    ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# --- packages ---------------------------------------------------------------------------------

INTEROP_PACKAGES=(postfix postgrey nsd swaks dnsutils jq python3 openssl nginx-light curl ldnsutils dnsmasq-base)

packages_missing() {
    local package
    for package in "${INTEROP_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' || echo "$package"
    done
}

# Installs what is missing; package scripts may not start daemons (policy-rc.d), and postfix is
# preseeded to "No configuration" so the system postfix is never configured or started.
install_packages() {
    local missing
    missing=$(packages_missing)
    [ -n "$missing" ] || return 0
    say "installing: ${missing//$'\n'/ }"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# created by mxdoctor tests/interop: no daemon starts during install\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        CREATED_POLICY_RC=/usr/sbin/policy-rc.d
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086 # one package per word
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    remove_created_policy_rc
}

remove_created_policy_rc() {
    if [ -n "$CREATED_POLICY_RC" ]; then
        rm -f "$CREATED_POLICY_RC"
        CREATED_POLICY_RC=""
    fi
}

# --- assertions -------------------------------------------------------------------------------

ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $*"
}

not_ok() {
    FAILED=$((FAILED + 1))
    echo "not ok - $*"
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# assert_contains WHAT NEEDLE HAYSTACK
assert_contains() {
    if [[ "$3" == *"$2"* ]]; then ok "$1"; else not_ok "$1 ('$2' not in: ${3:0:300})"; fi
}

summary() {
    echo "interop: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
