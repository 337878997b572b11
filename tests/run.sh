#!/usr/bin/env bash
# The project's test command (README): unit + integration tests, then the Debian package (built once
# in release mode, installed and run), then the real-MTA interop suite against that release binary.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --no-fail-fast

status=0
if tests/package/run.sh; then
    # The interop suite drives the binary the package just installed (or, without root, the same
    # release build), so the release build happens once.
    if [ "$(id -u)" = 0 ] && dpkg-query -W -f='${Status}' mxdoctor 2>/dev/null | grep -q 'install ok installed'; then
        export MXDOCTOR=/usr/bin/mxdoctor
    else
        export MXDOCTOR=${CARGO_TARGET_DIR:-$PWD/target}/release/mxdoctor
    fi
else
    status=1
fi

if [ -x tests/interop/run.sh ]; then
    tests/interop/run.sh || status=1
fi
exit "$status"
