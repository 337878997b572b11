#!/usr/bin/env bash
# Builds the Debian package (target/debian/mxdoctor_VERSION-1_ARCH.deb) with cargo-deb: the release
# binary once, then the man page and the bash/zsh/fish completions printed by that very binary into
# target/assets/ (never committed, so they cannot go stale), then `cargo deb --no-build`.
# Prints the path of the .deb on its last line. Needs cargo-deb (`cargo install cargo-deb --locked`);
# dpkg-shlibdeps (Debian's dpkg-dev) computes the library dependencies when it is installed.
# Environment: CARGO_TARGET_DIR is honoured (cargo-deb reads it too); MXDOCTOR_SKIP_BUILD=1 reuses an
# existing release binary.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

command -v cargo-deb >/dev/null || {
    echo "build-deb: cargo-deb is not installed; run: cargo install cargo-deb --locked" >&2
    exit 1
}

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "${MXDOCTOR_SKIP_BUILD:-}" ]; then
    cargo build --release --locked --bin mxdoctor
fi
BINARY=$TARGET_DIR/release/mxdoctor
[ -x "$BINARY" ] || { echo "build-deb: no release binary at $BINARY" >&2; exit 1; }

# cargo-deb reads assets named target/... from the target directory it is given (Cargo.toml).
ASSETS=$TARGET_DIR/assets
rm -rf "$ASSETS"
mkdir -p "$ASSETS"
"$BINARY" man >"$ASSETS/mxdoctor.1"
"$BINARY" completions bash >"$ASSETS/mxdoctor.bash"
"$BINARY" completions zsh >"$ASSETS/_mxdoctor"
"$BINARY" completions fish >"$ASSETS/mxdoctor.fish"
for generated in mxdoctor.1 mxdoctor.bash _mxdoctor mxdoctor.fish; do
    [ -s "$ASSETS/$generated" ] || { echo "build-deb: $generated came out empty" >&2; exit 1; }
done

cargo deb --package mxdoctor --no-build --locked --output "$TARGET_DIR/debian/" | tail -n1
