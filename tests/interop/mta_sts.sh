# MTA-STS and TLS-RPT against real software: nsd serves sts.test (dns/sts.test.zone), nginx serves
# each domain's policy over HTTPS on 127.0.0.50:443 with a certificate from a CA made here with the
# openssl CLI, and `mxdoctor check` must find good.sts.test clean and rank mta-sts-mx-not-covered
# first for stale.sts.test (its policy names an MX it no longer has).
# Sourced by run.sh after lib.sh, services.sh and cases.sh.
# shellcheck shell=bash

POLICY_HOST_IP=127.0.0.50 # nginx, port 443 (RFC 8461 fixes it)

# A CA and a certificate for both policy hosts, the policy files, then nginx in the foreground.
start_policy_host() {
    local dir=$RUN/mta-sts
    require_loopback "$POLICY_HOST_IP:443"
    require_loopback_in_files "$INTEROP_DIR/mta-sts/nginx.conf" "$INTEROP_DIR/dns/sts.test.zone"
    tcp_port_free "$POLICY_HOST_IP" 443 || { echo "interop: $POLICY_HOST_IP:443 is already in use" >&2; return 1; }
    mkdir -p "$dir/tmp" "$dir/sites/mta-sts.good.sts.test/.well-known" "$dir/sites/mta-sts.stale.sts.test/.well-known"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
        -subj "/CN=mxdoctor interop MTA-STS CA" -days 2 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca.pem" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/host.key" \
        -subj "/CN=mta-sts.good.sts.test" -out "$dir/host.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:mta-sts.good.sts.test,DNS:mta-sts.stale.sts.test" \
        "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$dir/host.ext"
    openssl x509 -req -in "$dir/host.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/host.ext" -out "$dir/host.pem" 2>/dev/null
    printf 'version: STSv1\r\nmode: enforce\r\nmx: *.lab.test\r\nmax_age: 604800\r\n' \
        >"$dir/sites/mta-sts.good.sts.test/.well-known/mta-sts.txt"
    printf 'version: STSv1\r\nmode: enforce\r\nmx: mail.stale.sts.test\r\nmax_age: 604800\r\n' \
        >"$dir/sites/mta-sts.stale.sts.test/.well-known/mta-sts.txt"
    render "$INTEROP_DIR/mta-sts/nginx.conf" "$dir/nginx.conf"
    nginx -t -q -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
    start_bg "$dir/nginx.out" nginx -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
    wait_for_tcp "$POLICY_HOST_IP" 443 || { cat "$dir/error.log" "$dir/nginx.out" >&2 2>/dev/null; return 1; }
}

# The policy through curl first (what nginx really serves), then mxdoctor's verdicts.
mta_sts_cases() {
    local dir=$RUN/mta-sts served
    served=$(curl -sS --max-redirs 0 --cacert "$dir/ca.pem" --resolve "mta-sts.good.sts.test:443:$POLICY_HOST_IP" \
        -w '%{http_code} %{content_type}' -o /dev/null https://mta-sts.good.sts.test/.well-known/mta-sts.txt 2>&1 || true)
    assert_eq "mta-sts: nginx serves the policy over HTTPS as text/plain" "200 text/plain" "$served"

    check_run sts-good good.sts.test --skip smtp --tls-ca "$dir/ca.pem"
    assert_eq "mta-sts good: no finding above info" "" "$(above_info sts-good)"
    assert_eq "mta-sts good: exit code" 0 "$(cat "$RUN/sts-good.code")"
    assert_eq "mta-sts good: policy valid, enforce, MX covered" "valid enforce 0" \
        "$(report sts-good '.observations[] | select(.check == "tls.mta_sts") | "\(.data.verdict) \(.data.mode) \(.data.uncovered_mx | length)"')"
    assert_eq "mta-sts good: TLS-RPT valid" valid "$(report sts-good '.observations[] | select(.check == "tls.rpt") | .data.verdict')"
    row "(8) MTA-STS enforced, MX covered (nginx)" "mx: *.lab.test" sts-good

    check_run sts-stale stale.sts.test --skip smtp --tls-ca "$dir/ca.pem"
    expect_top sts-stale mta-sts-mx-not-covered 2
    expect_evidence sts-stale mta-sts-mx-not-covered "gateway-mx1.lab.test"
    row "(9) MTA-STS enforced, MX not covered (nginx)" "mx: mail.stale.sts.test" sts-stale

    # Without the suite's CA the same policy host does not verify: the certificate finding, not a pass.
    check_run sts-untrusted good.sts.test --skip smtp
    expect_top sts-untrusted mta-sts-certificate-invalid 2
}
