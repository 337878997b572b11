# The DNSSEC and DANE cases of the interop suite (issue 12): a second nsd on 127.0.0.80 serves a DNS
# tree signed here with Debian's ldnsutils (ldns-keygen, ldns-signzone, ldns-key2ds): a root whose
# key mxdoctor gets as --dnssec-trust-anchor, lab.test below it, and one zone per case, each the MX
# of itself on the interop gateway Postfix (127.0.0.31, STARTTLS with lab/src/certs/valid.pem).
# The TLSA records are computed here from that certificate with openssl.
# Sourced by run.sh after lib.sh, services.sh and cases.sh.
# shellcheck shell=bash

DNSSEC_DIR=$INTEROP_DIR/dnssec
DNSSEC_DNS=127.0.0.80:53
DNSSEC_ZONES=(dane-good dane-mismatch dane-bogus)

# SHA-256 of a PEM certificate's SubjectPublicKeyInfo: the data of a "3 1 1" TLSA record.
spki_sha256() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}

# ldns-keygen KSK for ZONE in DIR; prints the key's base name (Kzone.+013+tag).
dnssec_key() {
    local dir=$1 zone=$2
    (cd "$dir" && ldns-keygen -a ECDSAP256SHA256 -k "$zone")
}

# Signs DIR/ZONE_FILE with KEY (base name); extra ldns-signzone flags after.
dnssec_sign() {
    local dir=$1 file=$2 key=$3
    shift 3
    (cd "$dir" && ldns-signzone "$@" "$file" "$key" >/dev/null)
}

prepare_dnssec_zones() {
    local work=$RUN/dnssec name key good other
    mkdir -p "$work"
    good=$(spki_sha256 "$ROOT/lab/src/certs/valid.pem")
    other=$(spki_sha256 "$ROOT/lab/src/certs/self-signed.pem")
    for file in "$DNSSEC_DIR"/*.zone; do
        sed -e "s/@TLSA_POSTFIX@/$good/" -e "s/@TLSA_OTHER@/$other/" "$file" >"$work/$(basename "$file")"
    done
    cp "$work/dane-unsigned.lab.test.zone" "$work/dane-unsigned.lab.test.zone.signed"
    for name in "${DNSSEC_ZONES[@]}"; do
        key=$(dnssec_key "$work" "$name.lab.test")
        cat "$work/$key.ds" >>"$work/lab.test.zone"
        if [ "$name" = dane-bogus ]; then
            # Signatures valid only in 2019: every validator finds them expired.
            dnssec_sign "$work" "$name.lab.test.zone" "$key" -i 20190101000000 -e 20200101000000
        else
            dnssec_sign "$work" "$name.lab.test.zone" "$key"
        fi
    done
    key=$(dnssec_key "$work" lab.test)
    cat "$work/$key.ds" >>"$work/root.zone"
    dnssec_sign "$work" lab.test.zone "$key"
    key=$(dnssec_key "$work" .)
    dnssec_sign "$work" root.zone "$key"
    # The trust anchor: the root's DNSKEY record, as ldns-keygen wrote it.
    cp "$work/$key.key" "$work/anchor.key"
}

start_dnssec_dns() {
    require_loopback "$DNSSEC_DNS"
    require_loopback_in_files "$DNSSEC_DIR"/*
    prepare_dnssec_zones
    render "$DNSSEC_DIR/nsd.conf" "$RUN/dnssec/nsd.conf"
    nsd-checkconf "$RUN/dnssec/nsd.conf"
    start_bg "$RUN/dnssec/stdout" nsd -d -c "$RUN/dnssec/nsd.conf"
    local tries=50
    until dig +short +time=1 +tries=1 "@${DNSSEC_DNS%:*}" SOA dane-good.lab.test 2>/dev/null | grep -q .; do
        ((--tries > 0)) || { cat "$RUN/dnssec/stdout" "$RUN/dnssec/nsd.log" >&2 2>/dev/null; return 1; }
        sleep 0.1
    done
}

# dnssec_run NAME DOMAIN [FLAG...]: `mxdoctor check` through the signed tree, from its trust anchor.
dnssec_run() {
    local name=$1 domain=$2
    shift 2
    DNS_PROXY=$DNSSEC_DNS check_run "$name" "$domain" --dnssec-trust-anchor "$RUN/dnssec/anchor.key" \
        --skip rdns "$@"
}

dnssec_field() { report "$1" '.observations[] | select(.check == $c) | .data[$f] | tostring' --arg c "$2" --arg f "$3" | head -n1; }

dnssec_cases() {
    dnssec_run dane-good dane-good.lab.test
    assert_eq "dane-good: DNSSEC of the domain" secure "$(dnssec_field dane-good dnssec.zone verdict)"
    assert_eq "dane-good: the TLSA record matches the Postfix certificate" match "$(dnssec_field dane-good dane.tlsa verdict)"
    assert_eq "dane-good: nothing above info" "" "$(above_info dane-good)"
    assert_eq "dane-good: exit code" 0 "$(cat "$RUN/dane-good.code")"
    row "dane-good (signed, TLSA matches)" "$(dnssec_field dane-good dane.tlsa records)" dane-good

    dnssec_run dane-mismatch dane-mismatch.lab.test
    expect_top dane-mismatch dane-tlsa-mismatch 2
    row "dane-mismatch (signed, TLSA of another key)" "$(dnssec_field dane-mismatch dane.tlsa records)" dane-mismatch

    dnssec_run dane-bogus dane-bogus.lab.test
    expect_top dane-bogus dnssec-bogus 2
    expect_evidence dane-bogus dnssec-bogus "BOGUS"
    row "dane-bogus (RRSIGs expired in 2020)" "$(dnssec_field dane-bogus dnssec.zone reason)" dane-bogus

    dnssec_run dane-unsigned dane-unsigned.lab.test
    expect_top dane-unsigned dane-tlsa-insecure 1
    assert_eq "dane-unsigned: DNSSEC of the domain" insecure "$(dnssec_field dane-unsigned dnssec.zone verdict)"
    row "dane-unsigned (TLSA, no DS)" "$(dnssec_field dane-unsigned dane.tlsa records)" dane-unsigned

    # Without the test tree's anchor, the IANA root keys cannot validate this tree: inconclusive,
    # never a verdict against the domain.
    DNS_PROXY=$DNSSEC_DNS check_run dane-no-anchor dane-good.lab.test --skip rdns
    assert_eq "dane-no-anchor: DNSSEC indeterminate" indeterminate "$(dnssec_field dane-no-anchor dnssec.zone verdict)"
    assert_eq "dane-no-anchor: no DNSSEC or DANE finding above info" "" \
        "$(report dane-no-anchor '[.findings[] | select(.severity != "info") | .playbook | select(startswith("dnssec") or startswith("dane"))] | join(",")')"
}
