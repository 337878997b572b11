# Sender authentication and reverse DNS against real nsd: the auth.test zone (dns/auth.test.zone)
# publishes one failure per domain, and `mxdoctor check` must rank its playbook first. The SMTP
# probes are skipped: these verdicts rest on DNS alone.
# Sourced by run.sh after lib.sh, services.sh and cases.sh.
# shellcheck shell=bash

auth_cases() {
    require_loopback_in_files "$INTEROP_DIR/dns/auth.test.zone"

    check_run auth-spf-chain spf-chain.auth.test --skip smtp
    expect_top auth-spf-chain spf-lookup-limit 2
    row "(12) SPF include chain of 12 lookups (nsd)" "include: x11" auth-spf-chain

    check_run auth-dmarc-rua dmarc-rua.auth.test --skip smtp
    expect_top auth-dmarc-rua dmarc-report-unauthorised 1
    expect_evidence auth-dmarc-rua dmarc-report-unauthorised "reports.lab.test"
    row "(13) DMARC rua at another domain, not authorised (nsd)" "rua=mailto:dmarc@reports.lab.test" auth-dmarc-rua

    check_run auth-spf-all spf-all.auth.test --skip smtp
    expect_top auth-spf-all spf-too-permissive 2
    row "(14) SPF +all (nsd)" "v=spf1 mx +all" auth-spf-all

    check_run auth-no-ptr no-ptr.auth.test --skip smtp
    expect_top auth-no-ptr reverse-dns-missing 1
    expect_evidence auth-no-ptr reverse-dns-missing "127.0.0.44"
    row "(15) MX address without PTR (nsd)" "127.0.0.44, no PTR" auth-no-ptr
}
