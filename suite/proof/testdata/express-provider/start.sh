#!/bin/sh
# Installs the locked dependencies when node_modules is missing or older than the lock file,
# then runs the provider. npm's output goes to stderr, so stdout carries only the provider's
# "listening on ..." line.
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
exec node index.js
