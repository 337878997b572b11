#!/bin/sh
# Regenerates the lab's static TLS certificates (run once; the outputs are committed and embedded
# with include_bytes! by ../smtp.rs). Needs only the openssl CLI (tested with OpenSSL 3.0).
#
#   lab-ca.pem                      "mxdoctor lab CA", 100 years; trusted only by tests/demo that ask for it
#   valid.pem / valid.key           mx.example.test and *.lab.test (the demo scenarios), signed by the lab CA, 100 years
#   expired.pem / expired.key       mx.example.test and *.lab.test, signed by the lab CA, valid 2000-01-01 .. 2001-01-01
#   wrong-name.pem / wrong-name.key wrong-name.example.test, signed by the lab CA, 100 years
#   self-signed.pem / self-signed.key  mx.example.test, self-signed, 100 years
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj "/CN=mxdoctor lab CA" -days 36500 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out lab-ca.pem

mkdir "$work/db"
: > "$work/db/index.txt"
echo 1000 > "$work/db/serial"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = lab
[ lab ]
database = $work/db/index.txt
serial = $work/db/serial
new_certs_dir = $work/db
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
CNF

signed() { # name, host, startdate, enddate, [extra SAN]
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2${5:+,$5}" -out "$work/$1.csr"
    openssl ca -batch -config "$work/ca.cnf" -cert lab-ca.pem -keyfile "$work/ca.key" \
        -startdate "$3" -enddate "$4" -notext -in "$work/$1.csr" -out "$1.pem"
}
signed valid mx.example.test 20000101000000Z 21240101000000Z "DNS:*.lab.test"
signed expired mx.example.test 20000101000000Z 20010101000000Z "DNS:*.lab.test"
signed wrong-name wrong-name.example.test 20000101000000Z 21240101000000Z

key self-signed.key
openssl req -x509 -new -key self-signed.key -subj "/CN=mx.example.test" \
    -addext "subjectAltName=DNS:mx.example.test" -days 36500 -out self-signed.pem
