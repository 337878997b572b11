#!/usr/bin/env bash
# The real-MTA interop suite (issue 4): mxdoctor's own lab servers only prove the code agrees with
# itself, so this installs real mail software from Debian packages (postfix, postgrey, nsd, swaks),
# starts it by hand on 127.0.0.0/8, and checks that `mxdoctor check` and `mxdoctor explain` diagnose
# each personality correctly, cross-checked against swaks' transcript of the same SMTP dialogue.
# bounces.sh adds a bounce lab: a second postfix, Debian's Exim and OpenSMTPD (unpacked from their .debs) write
# real DSNs for mail that fails, and `mxdoctor explain --message` must name each reason.
# Then the real consumers of its outputs (clients.sh): Prometheus scraping `mxdoctor serve` with the
# shipped docs/prometheus.yml, promtool, JUnit schemas and readers, Nagios perfdata parsers.
#
# Needs root and apt-get; without them it skips (exit 0), except under CI=true (exit 1).
# Nothing is delivered but DSNs into local test maildirs under the temp dir (the personalities'
# transports are all discard:), and no traffic leaves 127.0.0.0/8.
# Output: one `ok - ...` / `not ok - ...` line per assertion, then `interop: N passed, M failed`.
# Environment: MXDOCTOR=path/to/binary (default: cargo build, debug profile, as `cargo test` left it);
# INTEROP_KEEP=1 keeps the temp dir (configs, maillog, JSON reports, swaks transcripts) for a look.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

INTEROP_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$INTEROP_DIR/../.." && pwd)
RUN=""

source "$INTEROP_DIR/lib.sh"
source "$INTEROP_DIR/services.sh"
source "$INTEROP_DIR/cases.sh"
source "$INTEROP_DIR/bounces.sh"
source "$INTEROP_DIR/clients.sh"
source "$INTEROP_DIR/remediation.sh"
source "$INTEROP_DIR/mta_sts.sh"
source "$INTEROP_DIR/dnssec.sh"
source "$INTEROP_DIR/auth.sh"
source "$INTEROP_DIR/resolvers.sh"

# Skips (exit 0) when this machine cannot run the suite; under CI that is a failure (exit 1).
require_root_and_apt() {
    local why=""
    [ "$(id -u)" = 0 ] || why="needs root (binds port 25 on loopback addresses, installs packages)"
    command -v apt-get >/dev/null && command -v dpkg-query >/dev/null || why="needs apt-get and dpkg (Debian)"
    [ -n "$why" ] || return 0
    if [ "${CI:-}" = true ]; then
        echo "interop: cannot run under CI: $why"
        echo "interop: 0 passed, 1 failed"
        exit 1
    fi
    echo "interop: skipped: $why"
    exit 0
}

find_mxdoctor() {
    if [ -z "${MXDOCTOR:-}" ]; then
        (cd "$ROOT" && cargo build --quiet --bin mxdoctor)
        MXDOCTOR=${CARGO_TARGET_DIR:-$ROOT/target}/debug/mxdoctor
    fi
    [ -x "$MXDOCTOR" ] || { echo "interop: no mxdoctor binary at $MXDOCTOR" >&2; exit 1; }
}

cleanup() {
    local status=$?
    trap - EXIT
    stop_pids
    remove_created_policy_rc
    bounce_lab_cleanup
    if [ -n "$RUN" ] && [ -n "${INTEROP_KEEP:-}" ]; then
        echo "interop: kept $RUN (INTEROP_KEEP)" >&2
    elif [ -n "$RUN" ]; then
        rm -rf "$RUN"
    fi
    exit "$status"
}

main() {
    local started=$SECONDS
    require_root_and_apt
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    install_packages
    find_mxdoctor
    say "packages and mxdoctor ready after $((SECONDS - started)) s"
    started=$SECONDS
    RUN=$(mktemp -d /tmp/mxdoctor-interop.XXXXXX)
    chmod 755 "$RUN" # postfix daemons (user postfix) walk into the queue below it
    start_everything
    start_dnssec_dns
    start_bounce_lab
    start_policy_host
    start_lying_resolvers
    say "services up in $((SECONDS - started)) s: postfix ${POSTFIX_IPS[*]}, silent $SILENT_IP, nsd $NSD_ADDR, dns $DNS_PROXY, postgrey $POSTGREY_ADDR, bounce lab $BOUNCE_POSTFIX_IP (postfix) $BOUNCE_EXIM_IP (exim) $BOUNCE_OSMTPD_IP (opensmtpd)"
    run_cases
    mta_sts_cases
    auth_cases
    resolver_cases
    dnssec_cases
    bounce_cases
    bounce_log_cases
    run_client_cases
    print_table
    print_bounce_table
    say "suite finished in $((SECONDS - started)) s"
    summary
}

main "$@"
