#!/usr/bin/env bash
# The project's test command (README): unit + integration tests, then the real-MTA interop suite.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --no-fail-fast

if [ -x tests/interop/run.sh ]; then
    tests/interop/run.sh
fi
