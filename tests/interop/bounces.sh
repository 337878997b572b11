# The interop suite's bounce lab: real DSNs written by real MTAs, read back by `mxdoctor explain`.
# A second postfix instance (config in bounces/, queue under $RUN) and Debian's Exim (the
# exim4-daemon-light package conflicts with postfix, so its .deb is fetched with apt-get download,
# unpacked with dpkg -x and run with bounces/exim.conf only) send mail that fails: unknown user,
# full mailbox, message too large, recipient domain not found (the lab's nsd says NXDOMAIN), a dead
# next hop until the queue lifetime / retry rule gives up (with the delay warning first), and next
# hops that reject at RCPT and at end of DATA (each MTA is the other's next hop). Every DSN is
# delivered to a maildir under $RUN; each is checked with `mxdoctor explain --message FILE`.
# Sourced by run.sh after lib.sh and services.sh; addresses 127.0.0.61-69 only, no DNS but nsd's.
# BOUNCES_CAPTURE=DIR copies every captured DSN to DIR/<mta>/interop-<case>.eml (the fixtures).
# shellcheck shell=bash

BOUNCE_POSTFIX_IP=127.0.0.61 # rejecting postfix next hop (unknown users, 20 kB limit, DATA check)
BOUNCE_EXIM_IP=127.0.0.62    # Exim: a next hop that rejects, and a sender whose DSNs we read
BOUNCE_DEAD_IP=127.0.0.69    # nothing listens: the next hop that makes mail expire
BOUNCE_WAIT=45               # seconds to wait for the slowest DSN (postfix expires after 12 s)
EXIM_DEB_CACHE=/var/cache/mxdoctor-interop
EXIM=""
EXIM_TRUSTED_LIST=/etc/exim4/trusted_configs # compiled into Debian's exim4 (TRUSTED_CONFIG_LIST)
CREATED_TRUSTED_LIST=""
ADDED_TRUSTED_LINE=""
BOUNCE_ROWS=()

# Exim's unpacked binary needs these shared libraries (Depends of exim4-daemon-light, minus
# exim4-base and debconf); they are plain libraries and do not conflict with postfix.
INTEROP_PACKAGES+=(libidn12 libidn2-0 libgnutls30 libgnutls-dane0 libnsl2 libpcre2-8-0 libdb5.3 libcrypt1)

# Fetches exim4-daemon-light once into $EXIM_DEB_CACHE and unpacks it; sets EXIM to the binary.
prepare_exim() {
    local deb
    mkdir -p "$EXIM_DEB_CACHE"
    deb=$(find "$EXIM_DEB_CACHE" -maxdepth 1 -name 'exim4-daemon-light_*.deb' | sort | tail -n1)
    if [ -z "$deb" ]; then
        (cd "$EXIM_DEB_CACHE" && apt-get download -qq exim4-daemon-light 2>/dev/null) ||
            { echo "interop: apt-get download exim4-daemon-light failed" >&2; return 1; }
        deb=$(find "$EXIM_DEB_CACHE" -maxdepth 1 -name 'exim4-daemon-light_*.deb' | sort | tail -n1)
    fi
    rm -rf "$EXIM_DEB_CACHE/root"
    dpkg -x "$deb" "$EXIM_DEB_CACHE/root"
    EXIM=$EXIM_DEB_CACHE/root/usr/sbin/exim4
    # The binary looks its user up by name before reading any configuration.
    id Debian-exim >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim
    "$EXIM" -bV -C /dev/null >/dev/null 2>&1 || true
}

start_bounce_postfix() {
    local conf=$RUN/bounce-postfix
    mkdir -p "$conf" "$RUN/bq/etc" "$RUN/bdata" "$RUN/bmail"
    chown postfix "$RUN/bdata"
    # full@quota.lab.test is an mbox already 3,900 bytes long under a 4,000-byte limit (master.cf).
    head -c 3900 /dev/zero | tr '\0' '#' | fold -w 78 >"$RUN/bmail/full"
    chown -R mail:mail "$RUN/bmail"
    sed -e "s#@RUN@#$RUN#g" -e "s#@UID@#$(id -u mail)#g" -e "s#@GID@#$(id -g mail)#g" "$INTEROP_DIR/bounces/main.cf" >"$conf/main.cf"
    sed -e "s#@RUN@#$RUN#g" "$INTEROP_DIR/bounces/master.cf" >"$conf/master.cf"
    cp "$INTEROP_DIR/bounces/header_checks" "$conf/header_checks"
    # The chrooted smtp client resolves with the lab's nsd only.
    echo "nameserver ${NSD_ADDR%:*}" >"$RUN/bq/etc/resolv.conf"
    cp /etc/services /etc/host.conf "$RUN/bq/etc/" 2>/dev/null || true
    printf 'hosts: files dns\n' >"$RUN/bq/etc/nsswitch.conf"
    : >"$RUN/bq/etc/hosts"
    postfix -c "$conf" check
    if ! postfix -c "$conf" start >"$RUN/bounce-postfix.start" 2>&1; then
        cat "$RUN/bounce-postfix.start" "$RUN/bounce-maillog" >&2 2>/dev/null
        return 1
    fi
    adopt_pidfile "$RUN/bq/pid/master.pid"
    wait_for_tcp "$BOUNCE_POSTFIX_IP" 25
}

start_bounce_exim() {
    mkdir -p "$RUN/exim/spool" "$RUN/exim/log" "$RUN/exim-mail"
    chown -R Debian-exim:Debian-exim "$RUN/exim"
    chown mail:mail "$RUN/exim-mail"
    sed -e "s#@RUN@#$RUN#g" -e "s#@EXIM@#$EXIM#g" "$INTEROP_DIR/bounces/exim.conf" >"$RUN/exim.conf"
    # Exim re-executes itself with -C for every delivery; it keeps root only for listed files.
    if [ ! -e "$EXIM_TRUSTED_LIST" ]; then
        mkdir -p "$(dirname "$EXIM_TRUSTED_LIST")"
        : >"$EXIM_TRUSTED_LIST"
        CREATED_TRUSTED_LIST=$EXIM_TRUSTED_LIST
    fi
    echo "$RUN/exim.conf" >>"$EXIM_TRUSTED_LIST"
    ADDED_TRUSTED_LINE=$RUN/exim.conf
    "$EXIM" -C "$RUN/exim.conf" -bV >/dev/null
    "$EXIM" -C "$RUN/exim.conf" -bd -q2s
    adopt_pidfile "$RUN/exim/exim.pid"
    wait_for_tcp "$BOUNCE_EXIM_IP" 25
}

start_bounce_lab() {
    require_loopback "$BOUNCE_POSTFIX_IP" "$BOUNCE_EXIM_IP" "$BOUNCE_DEAD_IP"
    require_loopback_in_files "$INTEROP_DIR"/bounces/*
    tcp_port_free "$BOUNCE_POSTFIX_IP" 25 && tcp_port_free "$BOUNCE_EXIM_IP" 25 && tcp_port_free "$BOUNCE_DEAD_IP" 25 ||
        { echo "interop: a bounce-lab address (127.0.0.61/62/69:25) is in use" >&2; return 1; }
    prepare_exim
    start_bounce_postfix
    start_bounce_exim
}

# Undoes what start_bounce_exim changed outside $RUN (called from run.sh's EXIT trap).
bounce_lab_cleanup() {
    if [ -n "$CREATED_TRUSTED_LIST" ]; then
        rm -f "$CREATED_TRUSTED_LIST"
        rmdir "$(dirname "$CREATED_TRUSTED_LIST")" 2>/dev/null || true
    elif [ -n "$ADDED_TRUSTED_LINE" ] && [ -f "$EXIM_TRUSTED_LIST" ]; then
        grep -vxF -- "$ADDED_TRUSTED_LINE" "$EXIM_TRUSTED_LIST" >"$EXIM_TRUSTED_LIST.new" || true
        mv "$EXIM_TRUSTED_LIST.new" "$EXIM_TRUSTED_LIST"
    fi
    CREATED_TRUSTED_LIST=""
    ADDED_TRUSTED_LINE=""
}

# bounce_message TO SUBJECT PAD_BYTES: a plain message; PAD_BYTES of filler make it large.
bounce_message() {
    printf 'From: Interop Sender <%s>\nTo: <%s>\nSubject: %s\nMessage-ID: <%s.%s@interop.lab.test>\nDate: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n' \
        "$BOUNCE_FROM" "$1" "$2" "$(letters)" "$RANDOM" "$(date -R)"
    printf 'This message was sent by the mxdoctor interop suite to make %s write a DSN.\n' "$BOUNCE_MTA"
    if [ "$3" -gt 0 ]; then head -c "$3" /dev/zero | tr '\0' 'x' | fold -w 72; echo; fi
}

send_via_postfix() { # TO SUBJECT PAD
    BOUNCE_FROM=sender@sender.lab.test BOUNCE_MTA=postfix bounce_message "$@" |
        sendmail -C "$RUN/bounce-postfix" -f sender@sender.lab.test -- "$1"
}

send_via_exim() { # TO SUBJECT PAD
    BOUNCE_FROM=sender@sender.exim.lab.test BOUNCE_MTA=exim bounce_message "$@" |
        "$EXIM" -C "$RUN/exim.conf" -odq -f sender@sender.exim.lab.test -- "$1"
}

# The DSN in maildir DIR that names RECIPIENT and whose Subject matches SUBJECT_RE, '' until it arrives.
find_dsn() {
    local dir=$1 recipient=$2 subject_re=$3 file
    [ -d "$dir/new" ] || return 0
    for file in "$dir"/new/*; do
        [ -f "$file" ] || continue
        grep -qF -- "$recipient" "$file" && grep -qiE "^Subject: .*($subject_re)" "$file" && { echo "$file"; return 0; }
    done
    return 0
}

# expect_dsn MTA CASE MAILDIR RECIPIENT SUBJECT_RE PLAYBOOK: waits for the DSN, keeps it as
# $RUN/dsn/MTA/CASE.eml and asserts the playbook mxdoctor ranks first.
expect_dsn() {
    local mta=$1 name=$2 dir=$3 recipient=$4 subject_re=$5 playbook=$6 file="" top
    local deadline=$((SECONDS + BOUNCE_WAIT))
    while [ -z "$file" ] && ((SECONDS < deadline)); do
        file=$(find_dsn "$dir" "$recipient" "$subject_re")
        [ -n "$file" ] || sleep 0.5
    done
    if [ -z "$file" ]; then
        not_ok "bounce $mta/$name: no DSN for $recipient within ${BOUNCE_WAIT} s"
        BOUNCE_ROWS+=("$mta/$name|(no DSN)|$playbook|none")
        return
    fi
    mkdir -p "$RUN/dsn/$mta"
    cp "$file" "$RUN/dsn/$mta/$name.eml"
    if [ -n "${BOUNCES_CAPTURE:-}" ]; then
        mkdir -p "$BOUNCES_CAPTURE/$mta"
        cp "$file" "$BOUNCES_CAPTURE/$mta/interop-$name.eml"
    fi
    ok "bounce $mta/$name: $mta wrote a DSN for $recipient"
    top=$("$MXDOCTOR" explain --message "$RUN/dsn/$mta/$name.eml" --format json --no-progress 2>"$RUN/dsn/$mta/$name.stderr" |
        jq -r '.findings[0].playbook // "none"' 2>/dev/null || true)
    assert_eq "bounce $mta/$name: explain --message ranks $playbook first" "$playbook" "${top:-none}"
    BOUNCE_ROWS+=("$mta/$name|$(grep -m1 -iE '^(Status|Diagnostic-Code):' "$file" | tr -d '\r' || true)|$playbook|${top:-none}")
}

bounce_cases() {
    local pf=$RUN/bmail/sender ex=$RUN/exim-mail/sender
    # Postfix writes these DSNs.
    send_via_postfix p-nobody@sender.lab.test "unknown local user" 0
    send_via_postfix full@quota.lab.test "mailbox over quota" 0
    send_via_postfix p-nobody@rcpt.lab.test "next hop rejects at RCPT" 0
    send_via_postfix alice-data@rcpt.lab.test "next hop rejects at DATA [reject-at-data]" 0
    send_via_postfix alice-big@rcpt.lab.test "too large for the next hop" 30000
    send_via_postfix p-nobody@exim.lab.test "unknown user at the Exim next hop" 0
    send_via_postfix alice@exim.lab.test "too large for the Exim next hop" 30000
    send_via_postfix alice-data@exim.lab.test "Exim rejects at DATA [reject-at-data]" 0
    send_via_postfix p-someone@nosuch.lab.test "recipient domain does not exist" 0
    send_via_postfix p-late@dead.lab.test "next hop never answers" 0
    # Exim writes these DSNs.
    send_via_exim e-nobody@exim.lab.test "unknown local user" 0
    send_via_exim full@quota.exim.lab.test "mailbox over quota" 6000
    send_via_exim e-nobody@rcpt.lab.test "next hop rejects at RCPT" 0
    send_via_exim alice-edata@rcpt.lab.test "next hop rejects at DATA [reject-at-data]" 0
    send_via_exim alice-ebig@rcpt.lab.test "too large for the next hop" 30000
    send_via_exim e-someone@nosuch.lab.test "recipient domain unknown" 0
    send_via_exim e-late@dead.lab.test "next hop never answers" 0

    expect_dsn postfix unknown-user-local "$pf" p-nobody@sender.lab.test Undelivered mailbox-unknown
    expect_dsn postfix mailbox-full "$pf" full@quota.lab.test Undelivered mailbox-full
    expect_dsn postfix next-hop-rejects-rcpt "$pf" p-nobody@rcpt.lab.test Undelivered mailbox-unknown
    expect_dsn postfix next-hop-rejects-data "$pf" alice-data@rcpt.lab.test Undelivered content-rejected
    expect_dsn postfix next-hop-size-limit "$pf" alice-big@rcpt.lab.test Undelivered message-too-large
    expect_dsn postfix exim-next-hop-unknown-user "$pf" p-nobody@exim.lab.test Undelivered mailbox-unknown
    expect_dsn postfix exim-next-hop-size "$pf" alice@exim.lab.test Undelivered message-too-large
    expect_dsn postfix exim-next-hop-rejects-data "$pf" alice-data@exim.lab.test Undelivered content-rejected
    expect_dsn postfix domain-not-found "$pf" p-someone@nosuch.lab.test Undelivered recipient-domain-unknown
    expect_dsn exim unknown-user-local "$ex" e-nobody@exim.lab.test "delivery failed" mailbox-unknown
    expect_dsn exim mailbox-full "$ex" full@quota.exim.lab.test "delivery failed" mailbox-full
    expect_dsn exim next-hop-rejects-rcpt "$ex" e-nobody@rcpt.lab.test "delivery failed" mailbox-unknown
    expect_dsn exim next-hop-rejects-data "$ex" alice-edata@rcpt.lab.test "delivery failed" content-rejected
    expect_dsn exim next-hop-size-limit "$ex" alice-ebig@rcpt.lab.test "delivery failed" message-too-large
    expect_dsn exim domain-unrouteable "$ex" e-someone@nosuch.lab.test "delivery failed" recipient-domain-unknown
    expect_dsn postfix delay-warning "$pf" p-late@dead.lab.test "Delayed Mail" delivery-delayed
    expect_dsn exim delay-warning "$ex" e-late@dead.lab.test "Warning: message" delivery-delayed
    expect_dsn postfix queue-lifetime-expired "$pf" p-late@dead.lab.test Undelivered message-expired
    expect_dsn exim retry-timeout "$ex" e-late@dead.lab.test "delivery failed" message-expired
    assert_eq "bounce lab: nothing reached $BOUNCE_DEAD_IP" 0 "$(grep -c "status=sent.*$BOUNCE_DEAD_IP" "$RUN/bounce-maillog" || true)"
}

print_bounce_table() {
    local line
    say ""
    say "bounce lab: DSN | first Status/Diagnostic line | expected | mxdoctor's top playbook"
    for line in "${BOUNCE_ROWS[@]}"; do say "${line//|/ | }"; done
    say "postfix $(postconf -c "$RUN/bounce-postfix" -h mail_version 2>/dev/null), $("$EXIM" -bV -C "$RUN/exim.conf" 2>/dev/null | head -n1)"
}
