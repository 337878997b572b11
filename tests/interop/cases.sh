# The interop suite's assertions: `mxdoctor check` against each personality (top finding, evidence,
# exit code), `mxdoctor explain` on reply lines postfix itself wrote (maillog) and sent (swaks), and
# mxdoctor's recorded reply codes cross-checked against swaks' transcript of the same dialogue.
# Sourced by run.sh after lib.sh and services.sh.
# shellcheck shell=bash disable=SC2016 # $p, $c ... in single quotes are jq variables

SENDER=""        # fresh letters-only local part per run: postgrey folds digits
TABLE_ROWS=()    # personality | what it said (postfix's reply, or the DNS answer) | playbook mxdoctor ranked first

letters() {
    local alphabet=abcdefghijklmnopqrstuvwxyz word="" i
    for ((i = 0; i < 10; i++)); do word+=${alphabet:RANDOM%26:1}; done
    echo "$word"
}

# check_run NAME TARGET [FLAG...]: runs `mxdoctor check`, keeps the JSON report and the exit code.
check_run() {
    local name=$1 target=$2 code=0
    shift 2
    "$MXDOCTOR" check "$target" --dns "$DNS_PROXY" --smtp-port "$SMTP_PORT" --tls-ca "$RUN/certs/lab-ca.pem" \
        --mail-from "$SENDER" --format json --no-progress "$@" >"$RUN/$name.json" 2>"$RUN/$name.stderr" || code=$?
    echo "$code" >"$RUN/$name.code"
    jq -e .schema "$RUN/$name.json" >/dev/null 2>&1 || {
        not_ok "$name: mxdoctor printed no JSON report (exit $code): $(head -c 300 "$RUN/$name.stderr")"
        echo '{"findings":[],"observations":[]}' >"$RUN/$name.json"
    }
}

# report NAME JQ_FILTER [JQ_ARG...]: queries the kept report of NAME.
report() {
    local name=$1 filter=$2
    shift 2
    jq -r "$@" "$filter" "$RUN/$name.json"
}

top_playbook() { report "$1" '.findings[0].playbook // "none"'; }
above_info() { report "$1" '[.findings[] | select(.severity != "info") | .playbook] | join(",")'; }
finding() { report "$1" '.findings[] | select(.playbook == $p) | .[$f] | if type == "string" then . else tojson end' --arg p "$2" --arg f "$3"; }

# The reply of CHECK on HOST as one line ("554 5.7.1 <x@y>: Relay access denied"), '' when none.
reply_of() {
    report "$1" '.observations[] | select(.check == $c and .data.host == $h) | (.data.reply // .data.first // empty)
        | "\(.code) \(.lines | join(" "))"' --arg c "$2" --arg h "$3" | head -n1
}

# expect_top NAME PLAYBOOK EXIT: the top finding and mxdoctor's exit code.
expect_top() {
    assert_eq "$1: top finding" "$2" "$(top_playbook "$1")"
    assert_eq "$1: exit code" "$3" "$(cat "$RUN/$1.code")"
}

expect_evidence() {
    assert_contains "$1: $2 evidence mentions '$3'" "$3" "$(finding "$1" "$2" evidence)"
}

row() { TABLE_ROWS+=("$1|$2|$(top_playbook "$3")"); }

# --- the personalities ------------------------------------------------------------------------

case_gateway_outsider() {
    check_run gateway gateway.lab.test --dnsbl "$LISTING_ZONE"
    assert_eq "gateway (outsider view): no finding above info" "" "$(above_info gateway)"
    assert_eq "gateway (outsider view): exit code" 0 "$(cat "$RUN/gateway.code")"
    assert_eq "gateway: relay probe rejected" rejected "$(report gateway '.observations[] | select(.check == "relay") | .data.verdict')"
    assert_eq "gateway: unknown user rejected" rejected "$(report gateway '.observations[] | select(.check == "recipient.invalid") | .data.verdict')"
    assert_eq "gateway: STARTTLS verified with the lab CA" true "$(report gateway '.observations[] | select(.check == "tls") | .data.verified')"
    row "(1) gateway, outsider: healthy" "$(reply_of gateway relay gateway-mx1.lab.test)" gateway
}

case_gateway_expect_relay() {
    check_run gateway-expect-relay gateway.lab.test --expect-relay
    expect_top gateway-expect-relay relay-access-denied 2
    expect_evidence gateway-expect-relay relay-access-denied "Relay access denied"
    row "(1) gateway, --expect-relay" "$(reply_of gateway-expect-relay relay gateway-mx1.lab.test)" gateway-expect-relay
}

case_greylist() {
    check_run greylist greylist.lab.test --greylist-wait $((GREYLIST_DELAY + 1)) --rcpt-valid alice@greylist.lab.test
    expect_top greylist greylisting 0
    assert_eq "greylist: confirmed (the retry passed)" confirmed "$(finding greylist greylisting confidence)"
    assert_eq "greylist: retry_passed" true "$(report greylist '.observations[] | select(.check == "greylist") | .data.retry_passed')"
    assert_eq "greylist: first RCPT deferred with 450" 450 "$(report greylist '.observations[] | select(.check == "greylist") | .data.first.code')"
    expect_evidence greylist greylisting "Greylisted"
    row "(2) gateway behind postgrey" "$(reply_of greylist greylist greylist-mx1.lab.test)" greylist
}

case_verify_dead() {
    check_run verify verify.lab.test
    expect_top verify recipient-verification-unavailable 1
    assert_eq "verify: confirmed" confirmed "$(finding verify recipient-verification-unavailable confidence)"
    expect_evidence verify recipient-verification-unavailable "unverified address"
    row "(3) reject_unverified_recipient, target dead" "$(reply_of verify recipient.invalid verify-mx1.lab.test)" verify
}

case_open_relay() {
    check_run open-relay open-relay.lab.test
    expect_top open-relay open-relay 2
    assert_eq "open-relay: severity" critical "$(finding open-relay open-relay severity)"
    expect_evidence open-relay open-relay 250
    row "(4) open relay" "$(reply_of open-relay relay open-relay-mx1.lab.test)" open-relay
}

case_backup_bypass() {
    check_run bypass bypass.lab.test --gateway bypass-mx1.lab.test
    expect_top bypass gateway-bypass-mx 2
    expect_evidence bypass gateway-bypass-mx bypass-mx2.lab.test
    row "(5) unfiltered backup MX 20" "$(reply_of bypass recipient.invalid bypass-mx2.lab.test)" bypass
}

case_silent() {
    check_run silent silent.lab.test --timeout 2
    expect_top silent smtp-no-banner 2
    expect_evidence silent smtp-no-banner silent-mx1.lab.test
    row "(6) no banner (silent.py)" "(nothing within 2 s)" silent
}

case_dnsbl_listed() {
    check_run listed listed.lab.test --dnsbl "$LISTING_ZONE"
    expect_top listed dnsbl-listed 2
    expect_evidence listed dnsbl-listed "$LISTING_ZONE"
    expect_evidence listed dnsbl-listed "$LISTED_IP"
    row "(7) gateway listed in $LISTING_ZONE" "$(report listed '.observations[] | select(.check == "dnsbl") | "\(.data.queried) A \(.data.answers | join(","))"')" listed
}

case_dnsbl_slow() {
    check_run slow gateway.lab.test --dnsbl "$SLOW_ZONE" --dnsbl "$LISTING_ZONE"
    expect_top slow dnsbl-slow 1
    expect_evidence slow dnsbl-slow "$SLOW_ZONE"
    expect_evidence slow milter-timeout-dnsbl "$SLOW_ZONE"
    assert_eq "slow: the milter timeout is folded under the slow list" dnsbl-slow \
        "$(finding slow milter-timeout-dnsbl caused_by)"
    assert_eq "slow: $SLOW_ZONE lookup took the proxy's ${SLOW_DELAY} s" true \
        "$(report slow '.observations[] | select(.check == "dnsbl" and .data.zone == $z) | .latency_ms >= $ms' --arg z "$SLOW_ZONE" --argjson ms $((SLOW_DELAY * 1000)))"
    assert_eq "slow: $LISTING_ZONE lookup was fast" true \
        "$(report slow '.observations[] | select(.check == "dnsbl" and .data.zone == $z) | .latency_ms < 1000' --arg z "$LISTING_ZONE")"
    assert_eq "slow: only the slow zone is blamed" true \
        "$(report slow '[.findings[] | select(.playbook == "milter-timeout-dnsbl") | .evidence[] | tostring | contains($z)] | all' --arg z "$SLOW_ZONE")"
    row "(8) gateway, DNSBL $SLOW_ZONE answers in ${SLOW_DELAY} s" \
        "$(report slow '.observations[] | select(.check == "dnsbl" and .data.zone == $z) | "\(.data.queried): \(.data.verdict) after \(.latency_ms) ms"' --arg z "$SLOW_ZONE")" slow
}

# --- mxdoctor explain on what postfix said ------------------------------------------------------

# expect_explained WHERE TEXT PLAYBOOK
expect_explained() {
    local top
    if [ -z "$2" ]; then
        not_ok "explain $1: no line captured"
        return
    fi
    top=$("$MXDOCTOR" explain --format json --no-progress "$2" | jq -r '.findings[0].playbook // "none"' || true)
    assert_eq "explain $1 -> $3" "$3" "$top"
}

# The first maillog line saying PATTERN, as postfix wrote it.
maillog_line() { grep -m1 -- "$1" "$RUN/maillog" || true; }

# The server's reply to RCPT in swaks' transcript FILE, without swaks' `<** ` / `<-  ` prefix.
swaks_rcpt_reply() { awk '/^ -> RCPT TO:/ { getline; sub(/^<(\*\*|-) +/, ""); print; exit }' "$1"; }
swaks_banner() { awk '/^<(-|\*\*) / { sub(/^<(\*\*|-) +/, ""); print; exit }' "$1"; }

# swaks_dialogue FILE IP FROM TO: the same envelope mxdoctor sent, stopped after RCPT (never DATA).
swaks_dialogue() {
    swaks --server "$2:$SMTP_PORT" --helo mxdoctor.invalid --from "$3" --to "$4" \
        --quit-after RCPT --timeout 10 >"$1" 2>&1 || true
}

# swaks_greeting FILE IP: connect, EHLO, QUIT.
swaks_greeting() {
    swaks --server "$2:$SMTP_PORT" --helo mxdoctor.invalid --quit-after EHLO --timeout 10 >"$1" 2>&1 || true
}

# Where cross_check keeps swaks' transcript of report NAME's CHECK probe on HOST.
swaks_file() { echo "$RUN/swaks-$1-$2-$3.txt"; }

explain_cases() {
    local greylist_swaks=$RUN/swaks-greylist.txt
    expect_explained "maillog relay reject" "$(maillog_line 'NOQUEUE: reject: .*Relay access denied')" relay-access-denied
    expect_explained "maillog greylist reject" "$(maillog_line 'NOQUEUE: reject: .*Greylisted')" greylisting
    expect_explained "maillog unverified reject" "$(maillog_line 'NOQUEUE: reject: .*unverified address')" recipient-verification-unavailable
    expect_explained "maillog unknown-user reject" "$(maillog_line 'NOQUEUE: reject: .*User unknown in relay recipient table')" mailbox-unknown
    swaks_dialogue "$greylist_swaks" "$GREYLIST_IP" "$(letters)@example.org" alice@greylist.lab.test
    expect_explained "swaks greylist reply" "$(swaks_rcpt_reply "$greylist_swaks")" greylisting
    expect_explained "swaks relay reply" "$(swaks_rcpt_reply "$(swaks_file gateway gateway-mx1.lab.test relay)")" relay-access-denied
    expect_explained "swaks unverified reply" "$(swaks_rcpt_reply "$(swaks_file verify verify-mx1.lab.test recipient.invalid)")" recipient-verification-unavailable
}

# Triage of the whole maillog postfix wrote: the verify probe's own connect failures (the reject
# lines and the smtp client's lines for the same dead target) are folded under the verification
# failure, never left as a separate smtp-unreachable.
triage_cases() {
    local code=0
    "$MXDOCTOR" triage --format json --no-progress "$RUN/maillog" >"$RUN/triage.json" 2>"$RUN/triage.stderr" || code=$?
    jq -e .schema "$RUN/triage.json" >/dev/null 2>&1 || {
        not_ok "triage of the maillog printed no JSON report (exit $code)"
        return
    }
    assert_eq "triage maillog: recipient-verification-unavailable found" true \
        "$(jq '[.findings[] | select(.playbook == "recipient-verification-unavailable")] | length > 0' "$RUN/triage.json")"
    assert_eq "triage maillog: every smtp-unreachable is caused by the verification failure" true \
        "$(jq '[.findings[] | select(.playbook == "smtp-unreachable") | .caused_by == "recipient-verification-unavailable"] | all' "$RUN/triage.json")"
    say "triage maillog: $(jq -c '[.findings[] | {playbook, count, caused_by}]' "$RUN/triage.json")"
}

# --- mxdoctor's reply codes against swaks' ------------------------------------------------------

# swaks' transcript FILE as "S line" / "C line", up to (not including) QUIT, like smtp.session's.
swaks_as_transcript() {
    awk '/^ -> QUIT/ { exit } /^<(-|\*\*) / { sub(/^<(\*\*|-) +/, ""); print "S " $0 } /^ -> / { sub(/^ -> /, ""); print "C " $0 }' "$1"
}

# Replays every relay / unknown-user RCPT of report NAME with swaks and compares the reply codes.
cross_check_replies() {
    local name=$1 host address check from to code transcript swaks_code
    while IFS=$'\t' read -r host address check from to code; do
        transcript=$(swaks_file "$name" "$host" "$check")
        swaks_dialogue "$transcript" "$address" "$from" "$to"
        swaks_code=$(swaks_rcpt_reply "$transcript" | cut -c1-3)
        assert_eq "$name: $check RCPT reply code from $host matches swaks" "$swaks_code" "$code"
    done < <(report "$name" '
        (.observations | map(select(.check == "smtp.session")) | map({key: .data.host, value: .data.address}) | from_entries) as $ip
        | .observations[] | select((.check == "relay" or .check == "recipient.invalid") and .data.reply != null)
        | [.data.host, $ip[.data.host], .check, .data.mail_from, .data.rcpt_to, .data.reply.code] | @tsv')
}

# Compares the connect + EHLO dialogue mxdoctor recorded (smtp.session transcript) on each host of
# report NAME with swaks' dialogue with the same host, line by line.
cross_check_greetings() {
    local name=$1 host address transcript recorded
    while IFS=$'\t' read -r host address; do
        transcript=$RUN/swaks-$name-$host-greeting.txt
        swaks_greeting "$transcript" "$address"
        recorded=$(report "$name" '.observations[] | select(.check == "smtp.session" and .data.host == $h) | .data.transcript[] | "\(.dir) \(.line)"' --arg h "$host")
        assert_eq "$name: connect+EHLO dialogue with $host ($(wc -l <<<"$recorded") lines) matches swaks" \
            "$(swaks_as_transcript "$transcript")" "$recorded"
    done < <(report "$name" '.observations[] | select(.check == "smtp.session" and .data.connected) | [.data.host, .data.address] | @tsv')
}

# Nothing may have been delivered: no DATA in any session, no message handed to a transport.
expect_nothing_delivered() {
    assert_eq "postfix saw no DATA command" 0 "$(grep -c ' data=[0-9]' "$RUN/maillog" || true)"
    assert_eq "postfix delivered nothing (no status=sent, no discard)" 0 \
        "$(grep -cE 'status=sent|postfix/discard' "$RUN/maillog" || true)"
}

# (9) Postfix on IPv4 only behind an AAAA record: reachable over one family. Needs ::1 here, with
# nothing on [::1]:25 (then the IPv6 connection is refused); otherwise skipped, with the reason.
case_ipv6_one_family() {
    local why=""
    if ! python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
        why="::1 cannot be bound on this machine"
    elif python3 -c 'import socket; socket.create_connection(("::1", 25), 1)' 2>/dev/null; then
        why="something listens on [::1]:25"
    fi
    if [ -n "$why" ]; then
        say "skipped: ipv6-one-family ($why)"
        return
    fi
    check_run ipv6 ipv6-one-family.lab.test
    expect_top ipv6 ipv6-one-family 1
    assert_eq "ipv6: postfix greets over IPv4 only" ipv4_only "$(report ipv6 '.observations[] | select(.check == "ipv6.smtp") | .data.verdict')"
    assert_eq "ipv6: the IPv6 connection is refused" refused "$(report ipv6 '.observations[] | select(.check == "ipv6.smtp") | .data.ipv6')"
    expect_evidence ipv6 ipv6-one-family "::1"
    row "(9) postfix on IPv4 only, AAAA ::1" "$(report ipv6 '.observations[] | select(.check == "ipv6.smtp") | "IPv4: \(.data.ipv4_detail); IPv6: \(.data.ipv6_detail)"')" ipv6
}

run_cases() {
    SENDER=$(letters)
    say "probe sender: $SENDER@example.org"
    SENDER=$SENDER@example.org
    case_gateway_outsider
    case_gateway_expect_relay
    case_greylist
    case_verify_dead
    case_open_relay
    case_backup_bypass
    case_silent
    case_dnsbl_listed
    case_dnsbl_slow
    case_ipv6_one_family
    local name
    for name in gateway greylist verify open-relay bypass; do
        cross_check_replies "$name"
        cross_check_greetings "$name"
    done
    explain_cases
    remediation_cases
    triage_cases
    triage_input_cases
    expect_nothing_delivered
}

# `mxdoctor triage` on the log postfix itself wrote during the run: the dialect is recognised as
# Postfix (so Postfix's remediation comes first), and the rejects found; the same log gzipped
# (as logrotate leaves it) gives the same findings.
triage_input_cases() {
    local report gz_report
    report=$("$MXDOCTOR" triage --format json --no-progress "$RUN/maillog" || true)
    assert_contains "triage maillog: platform detected" "remediation shown for postfix" \
        "$(jq -r '.notes[]' <<<"$report")"
    assert_contains "triage maillog: relay rejects found" "relay-access-denied" \
        "$(jq -r '[.findings[].playbook] | join(" ")' <<<"$report")"
    gzip -c "$RUN/maillog" >"$RUN/maillog.1.gz"
    gz_report=$("$MXDOCTOR" triage --format json --no-progress "$RUN/maillog.1.gz" || true)
    assert_eq "triage maillog.1.gz: same findings as the plain log" \
        "$(jq -c '[.findings[] | {playbook, count, first_seen, last_seen}]' <<<"$report")" \
        "$(jq -c '[.findings[] | {playbook, count, first_seen, last_seen}]' <<<"$gz_report")"
}

print_table() {
    local line personality reply top
    say ""
    say "personality | what it said (postfix's reply, or the DNS answer) | mxdoctor's top playbook"
    for line in "${TABLE_ROWS[@]}"; do
        IFS='|' read -r personality reply top <<<"$line"
        say "$personality | ${reply:-(none)} | $top"
    done
}
