# The interop suite's bounce lab: real DSNs written by real MTAs, read back by `mxdoctor explain`.
# A second postfix instance (config in bounces/, queue under $RUN), Debian's Exim and Debian's
# OpenSMTPD send mail that fails: unknown user, full mailbox, message too large, recipient domain
# not found (the lab's nsd says NXDOMAIN), a dead next hop until the queue lifetime / retry rule
# gives up (with the delay warning first), and next hops that reject at RCPT and at end of DATA
# (the MTAs are each other's next hops). Exim and OpenSMTPD conflict with postfix as packages: their
# .debs are fetched with apt-get download, unpacked with dpkg -x and run with bounces/exim.conf and
# bounces/smtpd.conf only; the lab creates their system users, and OpenSMTPD's compiled-in spool and
# chroot dirs, which it removes afterwards. Every DSN is delivered to a maildir under $RUN; each is
# checked with `mxdoctor explain --message FILE`.
# Debian's Sendmail (sendmail-bin conflicts with postfix too: unpacked the same way, its configuration
# built with m4 from sendmail-cf's macros) writes DSNs for the same next hops and the dead one.
# Sourced by run.sh after lib.sh and services.sh; addresses 127.0.0.61-69 only, no DNS but nsd's.
# BOUNCES_CAPTURE=DIR copies every captured DSN to DIR/<mta>/interop-<case>.eml (the fixtures).
# shellcheck shell=bash

BOUNCE_POSTFIX_IP=127.0.0.61 # rejecting postfix next hop (unknown users, 20 kB limit, DATA check)
BOUNCE_EXIM_IP=127.0.0.62    # Exim: a next hop that rejects, and a sender whose DSNs we read
BOUNCE_OSMTPD_IP=127.0.0.63  # OpenSMTPD: swaks submits here, its DSNs go to the capture listener
BOUNCE_CAPTURE_IP=127.0.0.64 # postfix listener that files OpenSMTPD's DSNs in a maildir
BOUNCE_RELAY_IP=127.0.0.65   # postfix next hop that relays for nobody (relay access denied)
BOUNCE_TLS_IP=127.0.0.66     # postfix next hop that requires STARTTLS (smtpd_tls_security_level=encrypt)
BOUNCE_ACCESS_IP=127.0.0.67  # postfix next hop with an access map: custom 5.7.1 text, 4.x deferral
BOUNCE_DEAD_IP=127.0.0.69    # nothing listens: the next hop that makes mail expire
BOUNCE_WAIT=45               # seconds to wait for the slowest DSN (postfix expires after 12 s)
DEB_CACHE=/var/cache/mxdoctor-interop
EXIM=""
SMTPD=""
OSMTPD_SPOOL=/var/spool/smtpd          # compiled into Debian's smtpd, as are the two below
OSMTPD_CHROOT=/var/lib/opensmtpd/empty
OSMTPD_SOCKET=/var/run/smtpd.sock
OSMTPD_CREATED=()
OSMTPD_OFF="" # why OpenSMTPD could not run here ('' when it runs)
SENDMAIL=""
SENDMAIL_OFF="" # why Sendmail could not run here ('' when it runs)
EXIM_TRUSTED_LIST=/etc/exim4/trusted_configs # compiled into Debian's exim4 (TRUSTED_CONFIG_LIST)
CREATED_TRUSTED_LIST=""
ADDED_TRUSTED_LINE=""
BOUNCE_ROWS=()

# Exim's unpacked binary needs these shared libraries (Depends of exim4-daemon-light, minus
# exim4-base and debconf); they are plain libraries and do not conflict with postfix.
INTEROP_PACKAGES+=(libidn12 libidn2-0 libgnutls30 libgnutls-dane0 libnsl2 libpcre2-8-0 libdb5.3 libcrypt1)
# ... and OpenSMTPD's (Depends of opensmtpd, minus adduser, debconf, ed, lsb-base).
INTEROP_PACKAGES+=(libevent-2.1-7 libpam0g libssl3 zlib1g)
# ... and Sendmail's (Depends of sendmail-bin, minus sendmail-base and procps), with m4 to build its
# configuration from sendmail-cf's macros.
INTEROP_PACKAGES+=(libldap-2.5-0 liblockfile1 libsasl2-2 libwrap0 m4)

# unpack_deb PACKAGE: fetches PACKAGE's .deb once into $DEB_CACHE and unpacks it below
# $DEB_CACHE/PACKAGE (never installed: dpkg does not know about it).
unpack_deb() {
    local package=$1 deb
    mkdir -p "$DEB_CACHE"
    deb=$(find "$DEB_CACHE" -maxdepth 1 -name "${package}_*.deb" | sort | tail -n1)
    if [ -z "$deb" ]; then
        (cd "$DEB_CACHE" && apt-get download -qq "$package" 2>/dev/null) ||
            { echo "interop: apt-get download $package failed" >&2; return 1; }
        deb=$(find "$DEB_CACHE" -maxdepth 1 -name "${package}_*.deb" | sort | tail -n1)
    fi
    rm -rf "${DEB_CACHE:?}/$package"
    dpkg -x "$deb" "$DEB_CACHE/$package"
}

# system_user NAME: creates a system user the way the package's postinst would, when missing.
system_user() {
    id "$1" >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1"
}

# Unpacks exim4-daemon-light; sets EXIM to the binary.
prepare_exim() {
    unpack_deb exim4-daemon-light
    EXIM=$DEB_CACHE/exim4-daemon-light/usr/sbin/exim4
    # The binary looks its user up by name before reading any configuration.
    system_user Debian-exim
}

# Unpacks opensmtpd; sets SMTPD to the binary. Its spool, chroot dir and control socket are
# compiled in: the lab refuses to share them with an OpenSMTPD that is already there.
prepare_opensmtpd() {
    if [ -e "$OSMTPD_SPOOL" ] || [ -e "$OSMTPD_SOCKET" ]; then
        OSMTPD_OFF="$OSMTPD_SPOOL or $OSMTPD_SOCKET exists (an installed OpenSMTPD?): not sharing it"
        return 0
    fi
    unpack_deb opensmtpd
    SMTPD=$DEB_CACHE/opensmtpd/usr/sbin/smtpd
    system_user opensmtpd
    system_user opensmtpq
    OSMTPD_CREATED+=("$OSMTPD_SPOOL" "$OSMTPD_SOCKET")
    if [ ! -d "$OSMTPD_CHROOT" ]; then
        [ -d "$(dirname "$OSMTPD_CHROOT")" ] || OSMTPD_CREATED+=("$(dirname "$OSMTPD_CHROOT")")
        mkdir -p "$OSMTPD_CHROOT"
        OSMTPD_CREATED+=("$OSMTPD_CHROOT")
    fi
}

# Unpacks sendmail-bin and sendmail-cf (sendmail-bin conflicts with postfix as a package); sets
# SENDMAIL. Sendmail sleeps a minute when the host name is unqualified and asks the system
# resolver about it, so it runs in its own UTS and mount namespaces (unshare): host name
# sendmail.lab.test, /etc/resolv.conf replaced by one naming the lab's nsd.
prepare_sendmail() {
    if ! unshare --uts --mount true 2>/dev/null; then
        SENDMAIL_OFF="unshare --uts --mount is not permitted here"
        return 0
    fi
    unpack_deb sendmail-bin
    unpack_deb sendmail-cf
    SENDMAIL=$DEB_CACHE/sendmail-bin/usr/libexec/sendmail/sendmail
}

start_bounce_sendmail() {
    local dir=$RUN/sendmail cf=$DEB_CACHE/sendmail-cf/usr/share/sendmail/cf tries=50
    mkdir -p "$dir/queue"
    chmod 700 "$dir/queue"
    printf 'hosts files\naliases files\n' >"$dir/service.switch"
    printf '127.0.0.1 localhost\n' >"$dir/hosts"
    echo "nameserver ${NSD_ADDR%:*}" >"$dir/resolv.conf"
    sed -e "s#@RUN@#$RUN#g" "$INTEROP_DIR/bounces/sendmail.mc" >"$dir/sendmail.mc"
    m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$dir/sendmail.mc" >"$dir/sendmail.cf"
    "$DEB_CACHE/sendmail-bin/usr/sbin/makemap" -C "$dir/sendmail.cf" hash "$dir/mailertable" \
        <"$INTEROP_DIR/bounces/sendmail.mailertable"
    # Runs Sendmail with a qualified host name and the lab's resolver (inside unshare).
    printf '#!/bin/sh\nmount --bind "%s" /etc/resolv.conf && hostname sendmail.lab.test &&\n    exec "%s" -C "%s" "$@"\n' \
        "$dir/resolv.conf" "$SENDMAIL" "$dir/sendmail.cf" >"$dir/run"
    chmod 755 "$dir/run"
    # A queue runner every 2 s retries what was deferred and writes the warning and the expiry.
    unshare --uts --mount "$dir/run" -q2s
    until [ -s "$dir/sendmail.pid" ] || ((--tries <= 0)); do sleep 0.1; done
    [ -s "$dir/sendmail.pid" ] || { echo "interop: Sendmail's queue runner did not start" >&2; return 1; }
    # Its pid file holds the pid, then the command line.
    STARTED_PIDS+=("$(head -n1 "$dir/sendmail.pid")")
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
    cp "$INTEROP_DIR/bounces/restricted_access" "$conf/restricted_access"
    # The STARTTLS-requiring listener needs a key and certificate (self-signed, for two days).
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tls-mx.lab.test \
        -keyout "$conf/tls.key" -out "$conf/tls.crt" 2>/dev/null
    cat "$conf/tls.key" "$conf/tls.crt" >"$conf/tls.pem"
    chmod 600 "$conf/tls.key" "$conf/tls.pem"
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

start_bounce_opensmtpd() {
    cp "$INTEROP_DIR/bounces/smtpd.conf" "$RUN/smtpd.conf"
    "$SMTPD" -n -f "$RUN/smtpd.conf" >/dev/null
    start_bg "$RUN/opensmtpd.log" "$SMTPD" -d -f "$RUN/smtpd.conf"
    wait_for_tcp "$BOUNCE_OSMTPD_IP" 25
}

start_bounce_lab() {
    local ip
    require_loopback "$BOUNCE_POSTFIX_IP" "$BOUNCE_EXIM_IP" "$BOUNCE_OSMTPD_IP" "$BOUNCE_CAPTURE_IP" "$BOUNCE_RELAY_IP" "$BOUNCE_TLS_IP" "$BOUNCE_ACCESS_IP" "$BOUNCE_DEAD_IP"
    require_loopback_in_files "$INTEROP_DIR"/bounces/*
    for ip in "$BOUNCE_POSTFIX_IP" "$BOUNCE_EXIM_IP" "$BOUNCE_OSMTPD_IP" "$BOUNCE_CAPTURE_IP" "$BOUNCE_RELAY_IP" "$BOUNCE_TLS_IP" "$BOUNCE_ACCESS_IP" "$BOUNCE_DEAD_IP"; do
        tcp_port_free "$ip" 25 || { echo "interop: bounce-lab address $ip:25 is in use" >&2; return 1; }
    done
    prepare_exim
    prepare_opensmtpd
    prepare_sendmail
    start_bounce_postfix
    start_bounce_exim
    [ -n "$OSMTPD_OFF" ] || start_bounce_opensmtpd
    [ -n "$SENDMAIL_OFF" ] || start_bounce_sendmail
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
    local index
    for ((index = ${#OSMTPD_CREATED[@]} - 1; index >= 0; index--)); do
        rm -rf "${OSMTPD_CREATED[index]:?}"
    done
    OSMTPD_CREATED=()
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

send_via_opensmtpd() { # TO SUBJECT PAD
    local body=$RUN/osmtpd-body-$RANDOM.txt
    BOUNCE_FROM=sender@sender.osmtpd.lab.test BOUNCE_MTA=opensmtpd bounce_message "$@" >"$body"
    swaks --server "$BOUNCE_OSMTPD_IP:25" --helo interop.lab.test --from sender@sender.osmtpd.lab.test \
        --to "$1" --data "$body" --timeout 10 >"$RUN/swaks-osmtpd-$1.txt" 2>&1 || true
}

send_via_sendmail() { # TO SUBJECT PAD
    BOUNCE_FROM=sender@sender.sendmail.lab.test BOUNCE_MTA=sendmail bounce_message "$@" |
        unshare --uts --mount "$RUN/sendmail/run" -odi -f sender@sender.sendmail.lab.test -- "$1" \
            >>"$RUN/sendmail/submit.log" 2>&1 || true
}

# The DSN in maildir DIR that names RECIPIENT, whose Subject matches SUBJECT_RE and whose text
# matches BODY_RE (default: anything), '' until it arrives.
find_dsn() {
    local dir=$1 recipient=$2 subject_re=$3 body_re=${4:-.} file
    [ -d "$dir/new" ] || return 0
    for file in "$dir"/new/*; do
        [ -f "$file" ] || continue
        grep -qF -- "$recipient" "$file" && grep -qiE "^Subject: .*($subject_re)" "$file" &&
            grep -qE -- "$body_re" "$file" && { echo "$file"; return 0; }
    done
    return 0
}

# expect_dsn MTA CASE MAILDIR RECIPIENT SUBJECT_RE PLAYBOOK [BODY_RE]: waits for the DSN, keeps it
# as $RUN/dsn/MTA/CASE.eml and asserts the playbook mxdoctor ranks first.
expect_dsn() {
    local mta=$1 name=$2 dir=$3 recipient=$4 subject_re=$5 playbook=$6 body_re=${7:-.} file="" top found
    local deadline=$((SECONDS + BOUNCE_WAIT))
    while [ -z "$file" ] && ((SECONDS < deadline)); do
        file=$(find_dsn "$dir" "$recipient" "$subject_re" "$body_re")
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
    "$MXDOCTOR" explain --message "$RUN/dsn/$mta/$name.eml" --format json --no-progress \
        >"$RUN/dsn/$mta/$name.json" 2>"$RUN/dsn/$mta/$name.stderr" || true
    top=$(jq -r '.findings[0].playbook // "none"' "$RUN/dsn/$mta/$name.json" 2>/dev/null || echo none)
    found=$(jq -r '[.findings[].playbook] | join(",")' "$RUN/dsn/$mta/$name.json" 2>/dev/null || true)
    if [ "$top" = "$playbook" ]; then
        ok "bounce $mta/$name: explain --message ranks $top first"
    else
        not_ok "bounce $mta/$name: explain --message ranks $playbook first (got '$top'; found: ${found:-nothing})"
    fi
    BOUNCE_ROWS+=("$mta/$name|$(grep -m1 -iE '^(Status|Diagnostic-Code):' "$file" | tr -d '\r' || true)|$playbook|${top:-none}")
}

bounce_cases() {
    local pf=$RUN/bmail/sender ex=$RUN/exim-mail/sender os=$RUN/bmail/osmtpd sm=$RUN/bmail/sendmail
    # Sendmail writes these DSNs (delivering at once; its queue runner does the dead next hop).
    [ -z "$SENDMAIL_OFF" ] || not_ok "bounce lab: Sendmail did not run: $SENDMAIL_OFF"
    if [ -z "$SENDMAIL_OFF" ]; then
        send_via_sendmail s-nobody@rcpt.lab.test "next hop rejects at RCPT" 0
        send_via_sendmail alice-data@rcpt.lab.test "next hop rejects at DATA [reject-at-data]" 0
        send_via_sendmail alice-big@rcpt.lab.test "too large for the next hop" 30000
        send_via_sendmail s-nobody@exim.lab.test "unknown user at the Exim next hop" 0
        send_via_sendmail s-anyone@relay.lab.test "next hop relays for nobody" 0
        send_via_sendmail s-late@dead.lab.test "next hop never answers" 0
    fi
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
    send_via_postfix p-anyone@relay.lab.test "next hop relays for nobody" 0
    send_via_postfix p-clear@tls.lab.test "next hop requires STARTTLS" 0
    send_via_postfix board@restricted.lab.test "next hop's access map refuses with its own text" 0
    send_via_postfix later@restricted.lab.test "next hop defers until the queue lifetime ends" 0
    # Exim writes these DSNs.
    send_via_exim e-nobody@exim.lab.test "unknown local user" 0
    send_via_exim full@quota.exim.lab.test "mailbox over quota" 6000
    send_via_exim e-nobody@rcpt.lab.test "next hop rejects at RCPT" 0
    send_via_exim alice-edata@rcpt.lab.test "next hop rejects at DATA [reject-at-data]" 0
    send_via_exim alice-ebig@rcpt.lab.test "too large for the next hop" 30000
    send_via_exim e-someone@nosuch.lab.test "recipient domain unknown" 0
    send_via_exim e-late@dead.lab.test "next hop never answers" 0
    # OpenSMTPD writes these DSNs.
    [ -z "$OSMTPD_OFF" ] || not_ok "bounce lab: OpenSMTPD did not run: $OSMTPD_OFF"
    [ -n "$OSMTPD_OFF" ] || send_via_opensmtpd o-nobody@rcpt.lab.test "next hop rejects at RCPT" 0
    [ -n "$OSMTPD_OFF" ] || send_via_opensmtpd alice-data@rcpt.lab.test "next hop rejects at DATA [reject-at-data]" 0
    [ -n "$OSMTPD_OFF" ] || send_via_opensmtpd alice-big@rcpt.lab.test "too large for the next hop" 30000
    [ -n "$OSMTPD_OFF" ] || send_via_opensmtpd o-nobody@exim.lab.test "unknown user at the Exim next hop" 0
    [ -n "$OSMTPD_OFF" ] || send_via_opensmtpd o-late@dead.lab.test "next hop never answers" 0

    expect_dsn postfix unknown-user-local "$pf" p-nobody@sender.lab.test Undelivered mailbox-unknown
    expect_dsn postfix mailbox-full "$pf" full@quota.lab.test Undelivered mailbox-full
    expect_dsn postfix next-hop-rejects-rcpt "$pf" p-nobody@rcpt.lab.test Undelivered mailbox-unknown
    expect_dsn postfix next-hop-rejects-data "$pf" alice-data@rcpt.lab.test Undelivered content-rejected
    expect_dsn postfix next-hop-size-limit "$pf" alice-big@rcpt.lab.test Undelivered message-too-large
    expect_dsn postfix exim-next-hop-unknown-user "$pf" p-nobody@exim.lab.test Undelivered mailbox-unknown
    expect_dsn postfix exim-next-hop-size "$pf" alice@exim.lab.test Undelivered message-too-large
    expect_dsn postfix exim-next-hop-rejects-data "$pf" alice-data@exim.lab.test Undelivered content-rejected
    expect_dsn postfix domain-not-found "$pf" p-someone@nosuch.lab.test Undelivered recipient-domain-unknown
    expect_dsn postfix next-hop-relay-denied "$pf" p-anyone@relay.lab.test Undelivered relay-access-denied
    expect_dsn postfix next-hop-requires-starttls "$pf" p-clear@tls.lab.test Undelivered tls-required
    expect_dsn postfix next-hop-access-map-group "$pf" board@restricted.lab.test Undelivered list-posting-refused
    expect_dsn exim unknown-user-local "$ex" e-nobody@exim.lab.test "delivery failed" mailbox-unknown
    expect_dsn exim mailbox-full "$ex" full@quota.exim.lab.test "delivery failed" mailbox-full
    expect_dsn exim next-hop-rejects-rcpt "$ex" e-nobody@rcpt.lab.test "delivery failed" mailbox-unknown
    expect_dsn exim next-hop-rejects-data "$ex" alice-edata@rcpt.lab.test "delivery failed" content-rejected
    expect_dsn exim next-hop-size-limit "$ex" alice-ebig@rcpt.lab.test "delivery failed" message-too-large
    expect_dsn exim domain-unrouteable "$ex" e-someone@nosuch.lab.test "delivery failed" recipient-domain-unknown
    [ -n "$OSMTPD_OFF" ] || expect_dsn opensmtpd next-hop-rejects-rcpt "$os" o-nobody@rcpt.lab.test "notification: failed" mailbox-unknown
    [ -n "$OSMTPD_OFF" ] || expect_dsn opensmtpd next-hop-rejects-data "$os" alice-data@rcpt.lab.test "notification: failed" content-rejected
    [ -n "$OSMTPD_OFF" ] || expect_dsn opensmtpd next-hop-size-limit "$os" alice-big@rcpt.lab.test "notification: failed" message-too-large
    [ -n "$OSMTPD_OFF" ] || expect_dsn opensmtpd exim-next-hop-unknown-user "$os" o-nobody@exim.lab.test "notification: failed" mailbox-unknown
    if [ -z "$SENDMAIL_OFF" ]; then
        expect_dsn sendmail next-hop-rejects-rcpt "$sm" s-nobody@rcpt.lab.test "Returned mail" mailbox-unknown
        expect_dsn sendmail next-hop-rejects-data "$sm" alice-data@rcpt.lab.test "Returned mail" content-rejected
        expect_dsn sendmail next-hop-size-limit "$sm" alice-big@rcpt.lab.test "Returned mail" message-too-large
        expect_dsn sendmail exim-next-hop-unknown-user "$sm" s-nobody@exim.lab.test "Returned mail" mailbox-unknown
        expect_dsn sendmail next-hop-relay-denied "$sm" s-anyone@relay.lab.test "Returned mail" relay-access-denied
    fi
    expect_dsn postfix delay-warning "$pf" p-late@dead.lab.test "Delayed Mail" delivery-delayed
    expect_dsn exim delay-warning "$ex" e-late@dead.lab.test "Warning: message" delivery-delayed
    expect_dsn postfix queue-lifetime-expired "$pf" p-late@dead.lab.test Undelivered message-expired
    expect_dsn postfix deferred-at-rcpt-then-expired "$pf" later@restricted.lab.test Undelivered message-expired
    expect_dsn exim retry-timeout "$ex" e-late@dead.lab.test "delivery failed" message-expired
    [ -n "$OSMTPD_OFF" ] || expect_dsn opensmtpd delay-warning "$os" o-late@dead.lab.test "notification: delayed" delivery-delayed "Network error"
    # OpenSMTPD 6.8 reports the expiry with its delay template ("temporary failure report") although
    # the envelope is gone: the reason line says "Envelope expired".
    [ -n "$OSMTPD_OFF" ] || expect_dsn opensmtpd envelope-expired "$os" o-late@dead.lab.test "notification: delayed" message-expired "Envelope expired"
    [ -n "$SENDMAIL_OFF" ] || expect_dsn sendmail delay-warning "$sm" s-late@dead.lab.test "Warning: could not send" delivery-delayed
    [ -n "$SENDMAIL_OFF" ] || expect_dsn sendmail queue-return "$sm" s-late@dead.lab.test "Returned mail" message-expired
    assert_eq "bounce lab: nothing reached $BOUNCE_DEAD_IP" 0 "$(grep -c "status=sent.*$BOUNCE_DEAD_IP" "$RUN/bounce-maillog" || true)"
}

# `mxdoctor triage` on the logs the bounce lab's MTAs wrote while making those DSNs: Exim's main
# log, the second Postfix's maillog and OpenSMTPD's foreground log. Each failure the lab provoked
# must be named from the MTA's own log line, as it was from the DSN.
# triage_log_case WHAT LOG PLAYBOOK...: every PLAYBOOK is among the findings of LOG, and none is
# remote-system-error (nothing in the lab broke a mail system: 552 5.3.4 is "message too big for
# system", Postfix's "Name service error" a DNS answer). The report is kept in $RUN/triage-WHAT.json.
triage_log_case() {
    local what=$1 log=$2 report=$RUN/triage-$1.json found playbook
    shift 2
    "$MXDOCTOR" triage --format json --no-progress "$log" >"$report" 2>"$RUN/triage-$what.stderr" || true
    found=$(jq -r '[.findings[].playbook] | join(" ")' "$report" 2>/dev/null || true)
    for playbook in "$@"; do
        assert_contains "triage $what log: $playbook named" " $playbook " " $found "
    done
    assert_eq "triage $what log: no remote-system-error" "" \
        "$(jq -r '.findings[] | select(.playbook == "remote-system-error") | .playbook' "$report" 2>/dev/null || true)"
    say "triage $what log: $found"
}

bounce_log_cases() {
    local exim_notes
    triage_log_case exim "$RUN/exim/log/mainlog" mailbox-unknown mailbox-full message-too-large \
        content-rejected recipient-domain-unknown smtp-unreachable message-expired
    exim_notes=$(jq -r '.notes[]' "$RUN/triage-exim.json" 2>/dev/null || true)
    assert_contains "triage exim log: dialect detected" "mainlog: " "$exim_notes"
    assert_contains "triage exim log: dialect is Exim" "lines, Exim (" "$exim_notes"
    triage_log_case postfix "$RUN/bounce-maillog" mailbox-unknown mailbox-full message-too-large \
        content-rejected recipient-domain-unknown smtp-unreachable relay-access-denied tls-required \
        list-posting-refused
    [ -n "$OSMTPD_OFF" ] || triage_log_case opensmtpd "$RUN/opensmtpd.log" mailbox-unknown \
        message-too-large content-rejected smtp-unreachable
}

print_bounce_table() {
    local line
    say ""
    say "bounce lab: DSN | first Status/Diagnostic line | expected | mxdoctor's top playbook"
    for line in "${BOUNCE_ROWS[@]}"; do say "${line//|/ | }"; done
    say "postfix $(postconf -c "$RUN/bounce-postfix" -h mail_version 2>/dev/null), $("$EXIM" -bV -C "$RUN/exim.conf" 2>/dev/null | head -n1), $(head -n1 "$RUN/opensmtpd.log" 2>/dev/null), sendmail ${SENDMAIL:+$(dpkg-deb -f "$(find "$DEB_CACHE" -maxdepth 1 -name 'sendmail-bin_*.deb' | sort | tail -n1)" Version 2>/dev/null)}"
}
