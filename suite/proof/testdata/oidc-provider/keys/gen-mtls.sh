#!/bin/sh
# Makes the mutual TLS test fixtures of the oidc-provider target (RFC 8705), once: they are
# committed, and public values. All ECDSA P-256, valid for 100 years.
#
#   mtls-ca.pem                           the test CA that index.js trusts for tls_client_auth (its
#                                         key is thrown away: rerun the script for new certificates)
#   mtls-client.pem, mtls-client-key.pem  certificate A, issued by that CA, subject
#                                         CN=conformance-mtls,O=ccconform (RFC 4514 order):
#                                         the tls_client_auth client conformance-mtls
#   mtls-self.pem, mtls-self-key.pem      certificate B, self-signed, CN=conformance-mtls-self:
#                                         the self_signed_tls_client_auth client conformance-mtls-self
#
# Run from anywhere: ./keys/gen-mtls.sh (it overwrites the files; target.yaml and index.js read
# them by name, so nothing else changes).
set -eu
cd "$(dirname "$0")"
days=36500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key "$tmp/ca-key.pem"
openssl req -x509 -new -key "$tmp/ca-key.pem" -days "$days" -subj "/O=ccconform/CN=ccconform oidc-provider test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out mtls-ca.pem

key mtls-client-key.pem
openssl req -new -key mtls-client-key.pem -subj "/O=ccconform/CN=conformance-mtls" -out "$tmp/client.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$tmp/client.ext"
openssl x509 -req -in "$tmp/client.csr" -CA mtls-ca.pem -CAkey "$tmp/ca-key.pem" -CAcreateserial -CAserial "$tmp/ca.srl" \
  -days "$days" -extfile "$tmp/client.ext" -out mtls-client.pem

key mtls-self-key.pem
openssl req -x509 -new -key mtls-self-key.pem -days "$days" -subj "/CN=conformance-mtls-self" \
  -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature \
  -addext extendedKeyUsage=clientAuth -out mtls-self.pem
