# Every `postconf -e` remediation command in the shipped playbooks, run against a scratch Postfix
# configuration (postconf -c DIR), followed by `postfix -c DIR check`; then the audit of the result.
# Nothing is started: the scratch directory only holds main.cf and master.cf. Sourced by run.sh.
# shellcheck shell=bash

# The `$ postconf -e ...` lines of one playbook's Postfix remediation, as printed by playbooks show.
postconf_changes_of() {
    "$MXDOCTOR" playbooks show "$1" --platform postfix |
        sed -n '/^fix (postfix):/,/^fix (/p' | sed -n 's/^  \$ \(postconf -e .*\)$/\1/p'
}

remediation_cases() {
    local scratch="$RUN/remediation" id line count=0 output code
    mkdir -p "$scratch"
    cp /etc/postfix/master.cf "$scratch/master.cf"
    printf 'compatibility_level = 3.6\nmyhostname = mx.example.test\nmydomain = example.test\n' >"$scratch/main.cf"
    for id in $("$MXDOCTOR" playbooks list --format json | jq -r '.[].id'); do
        while IFS= read -r line; do
            [ -n "$line" ] || continue
            count=$((count + 1))
            code=0
            # The playbook's command, typed literally, with only the config directory added.
            output=$(eval "postconf -c \"\$scratch\" ${line#postconf }" 2>&1) || code=$?
            assert_eq "remediation $id: '$line' runs" "0:" "$code:$output"
            output=$(postfix -c "$scratch" check 2>&1) || code=$?
            assert_eq "remediation $id: postfix check after '$line'" "0:" "$code:$output"
        done < <(postconf_changes_of "$id")
    done
    assert_eq "remediation: the playbooks hold postconf -e commands" yes "$([ "$count" -ge 10 ] && echo yes || echo no)"
    # message-too-large: the mailbox limits were raised first, so local delivery can still start.
    local message mailbox virtual
    message=$(postconf -c "$scratch" -h message_size_limit)
    mailbox=$(postconf -c "$scratch" -h mailbox_size_limit)
    virtual=$(postconf -c "$scratch" -h virtual_mailbox_limit)
    assert_eq "remediation: mailbox_size_limit >= message_size_limit" yes \
        "$([ "$mailbox" -eq 0 ] || [ "$mailbox" -ge "$message" ] && echo yes || echo no)"
    assert_eq "remediation: virtual_mailbox_limit >= message_size_limit" yes \
        "$([ "$virtual" -eq 0 ] || [ "$virtual" -ge "$message" ] && echo yes || echo no)"
    # The remediated configuration no longer trips the relay audit rules.
    postconf -c "$scratch" -n >"$RUN/remediated-postconf-n.txt"
    code=0
    "$MXDOCTOR" audit "$RUN/remediated-postconf-n.txt" --format json >"$RUN/remediated-audit.json" || code=$?
    assert_eq "remediation: audit of the remediated config has no relay finding" "" \
        "$(jq -r '[.observations[] | select(.check == "config.relay" and .outcome == "fail") | .data.rule] | join(",")' "$RUN/remediated-audit.json")"
}
