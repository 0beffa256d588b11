#!/bin/sh
# Installs the locked dependencies when node_modules is missing or older than the lock file,
# makes a self-signed certificate for 127.0.0.1 when TLS_CERT_FILE and TLS_KEY_FILE are not
# given, then runs the provider. npm's and openssl's output goes to stderr, so stdout carries
# only the provider's "listening on ..." line.
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
if [ -z "${TLS_CERT_FILE:-}" ] || [ -z "${TLS_KEY_FILE:-}" ]; then
  if [ ! -f .tls/cert.pem ] || [ ! -f .tls/key.pem ]; then
    mkdir -p .tls
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
      -keyout .tls/key.pem -out .tls/cert.pem >&2 2>&1
  fi
  TLS_CERT_FILE=.tls/cert.pem
  TLS_KEY_FILE=.tls/key.pem
  export TLS_CERT_FILE TLS_KEY_FILE
fi
exec node index.js
