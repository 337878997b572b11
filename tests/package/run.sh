#!/usr/bin/env bash
# The packaging suite (issue 17): builds the Debian package with packaging/build-deb.sh, checks what
# is in it, installs it with `dpkg -i` and runs `mxdoctor --version` and `mxdoctor demo` from
# /usr/bin; then `cargo install --path . --root TMPDIR` (reusing the same release build) and the
# same two commands from TMPDIR/bin. The package stays installed, so the interop suite that follows
# (tests/run.sh) runs /usr/bin/mxdoctor.
#
# Installs cargo-deb from crates.io when it is missing. Without root (or dpkg) it builds and inspects
# the package but skips `dpkg -i`, except under CI=true, where that is a failure.
# Output: one `ok - ...` / `not ok - ...` line per assertion, then `package: N passed, M failed`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# Pinned, so a new cargo-deb release cannot change the package under CI without a commit here.
CARGO_DEB_VERSION=3.8.0
PASSED=0
FAILED=0
WORK=$(mktemp -d /tmp/mxdoctor-package.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

say() { printf '# %s\n' "$*"; }
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
assert_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi; }

summary() {
    echo "package: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$VERSION" ] || { echo "package: no workspace version in Cargo.toml" >&2; exit 1; }

# runs_from BINARY WHERE: --version names this version; the demo diagnoses every simulated system as
# its scenario expects (exit 0 only then) and says so in its JSON.
runs_from() {
    local binary=$1 where=$2 code=0 verdict
    assert_eq "$where: --version" "mxdoctor $VERSION" "$("$binary" --version 2>&1 || true)"
    "$binary" demo --no-progress --format json >"$WORK/demo.json" 2>"$WORK/demo.stderr" || code=$?
    verdict=$(python3 -c 'import json, sys
rows = json.load(open(sys.argv[1]))
wrong = [row["scenario"] for row in rows if not row["as_expected"]]
print(f"{len(rows)} scenarios, unexpected: {wrong}")' "$WORK/demo.json" 2>&1 || true)
    if [ "$code" = 0 ] && [[ "$verdict" == *"unexpected: []"* ]] && [[ "$verdict" != "0 scenarios"* ]]; then
        ok "$where: demo exit 0, $verdict"
    else
        not_ok "$where: demo exit $code, ${verdict:0:300}: $(head -c 300 "$WORK/demo.stderr")"
    fi
}

if ! command -v cargo-deb >/dev/null; then
    say "installing cargo-deb $CARGO_DEB_VERSION from crates.io"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION" --quiet
fi

started=$SECONDS
DEB=$(packaging/build-deb.sh | tail -n1) || true
say "built $DEB in $((SECONDS - started)) s"
[ -f "$DEB" ] || { not_ok "packaging/build-deb.sh printed no .deb path (got '$DEB')"; summary; exit 1; }
ok "packaging/build-deb.sh built $(basename "$DEB")"

assert_eq ".deb package name" mxdoctor "$(dpkg-deb -f "$DEB" Package)"
assert_eq ".deb version" "$VERSION-1" "$(dpkg-deb -f "$DEB" Version)"
depends=$(dpkg-deb -f "$DEB" Depends)
case "$depends" in
*libc6*) ok ".deb depends on the libraries the binary links ($depends)" ;;
*) not_ok ".deb Depends lacks libc6: '$depends'" ;;
esac

dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's#^\./#/#' >"$WORK/contents"
for path in /usr/bin/mxdoctor /usr/share/man/man1/mxdoctor.1.gz \
    /usr/share/bash-completion/completions/mxdoctor /usr/share/zsh/vendor-completions/_mxdoctor \
    /usr/share/fish/vendor_completions.d/mxdoctor.fish /usr/share/doc/mxdoctor/README.md \
    /usr/share/doc/mxdoctor/copyright /usr/share/doc/mxdoctor/LICENSE-MIT /usr/share/doc/mxdoctor/LICENSE-APACHE \
    /usr/share/doc/mxdoctor/examples/prometheus.yml /usr/share/doc/mxdoctor/examples/prometheus-rules.yml; do
    if grep -qxF "$path" "$WORK/contents"; then ok ".deb contains $path"; else not_ok ".deb lacks $path"; fi
done

# The man page in the package is the one the binary prints now, not a stale copy.
dpkg-deb -x "$DEB" "$WORK/unpacked"
if gzip -dc "$WORK/unpacked/usr/share/man/man1/mxdoctor.1.gz" | cmp -s - <("$TARGET_DIR/release/mxdoctor" man); then
    ok "packaged man page equals \`mxdoctor man\`"
else
    not_ok "packaged man page differs from \`mxdoctor man\`"
fi
assert_eq "man page is roff with a NAME section" 1 \
    "$(gzip -dc "$WORK/unpacked/usr/share/man/man1/mxdoctor.1.gz" | grep -c '^\.SH NAME$' || true)"
if bash -c "source '$WORK/unpacked/usr/share/bash-completion/completions/mxdoctor' && complete -p mxdoctor" >"$WORK/complete" 2>&1; then
    ok "bash completion loads: $(cat "$WORK/complete")"
else
    not_ok "bash completion does not load: $(head -c 300 "$WORK/complete")"
fi
for shell in zsh fish; do
    if command -v "$shell" >/dev/null; then
        file=$(grep -m1 "/$shell/" "$WORK/contents")
        if "$shell" -n "$WORK/unpacked$file" 2>"$WORK/$shell.err"; then ok "$shell parses $file"; else not_ok "$shell -n $file: $(cat "$WORK/$shell.err")"; fi
    fi
done

if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null; then
    if dpkg -i "$DEB" >"$WORK/dpkg.log" 2>&1; then
        ok "dpkg -i $(basename "$DEB")"
        assert_eq "dpkg knows the installed version" "install ok installed $VERSION-1" \
            "$(dpkg-query -W -f='${Status} ${Version}' mxdoctor)"
        runs_from /usr/bin/mxdoctor "installed package (/usr/bin/mxdoctor)"
    else
        not_ok "dpkg -i failed: $(tail -c 500 "$WORK/dpkg.log")"
    fi
elif [ "${CI:-}" = true ]; then
    not_ok "cannot install the package under CI: needs root and dpkg"
else
    say "skipped dpkg -i: needs root and dpkg"
fi

# cargo install --path . builds in this workspace's target directory with the release profile, so it
# reuses the build above instead of compiling again.
started=$SECONDS
if cargo install --path . --root "$WORK/root" --locked --quiet 2>"$WORK/install.log"; then
    ok "cargo install --path . --root TMPDIR ($((SECONDS - started)) s)"
    runs_from "$WORK/root/bin/mxdoctor" "cargo install"
else
    not_ok "cargo install --path . failed: $(tail -c 500 "$WORK/install.log")"
fi

summary
