#!/usr/bin/env bash
# make image-check: build the container image with ko where no registry can be reached, and check
# the command inside it. A throwaway registry on loopback (crane, from tools/go.mod) serves an
# empty base image: no CA certificates, so the image is for checking the build only; releases
# use ko's default base. The command in the image must print the version it was stamped with.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
registry=""
cleanup() { if [ -n "$registry" ]; then kill "$registry" 2>/dev/null || true; fi; rm -rf "$tmp"; }
trap cleanup EXIT

go build -modfile=tools/go.mod -o "$tmp/crane" github.com/google/go-containerregistry/cmd/crane
"$tmp/crane" registry serve --address 127.0.0.1:0 > "$tmp/registry.log" 2>&1 &
registry=$!
for _ in $(seq 50); do
  port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$tmp/registry.log")
  if [ -n "$port" ]; then break; fi
  sleep 0.1
done
if [ -z "$port" ]; then echo "image-check: the local registry did not start" >&2; exit 1; fi
tar -cf "$tmp/empty.tar" -T /dev/null
"$tmp/crane" append --insecure -f "$tmp/empty.tar" -t "127.0.0.1:$port/base:empty" >/dev/null 2>&1
base=$("$tmp/crane" mutate --insecure --set-platform linux/amd64 "127.0.0.1:$port/base:empty" -t "127.0.0.1:$port/base:amd64" 2>/dev/null)

version="${VERSION:-image-check}"
make --no-print-directory image VERSION="$version" KO_DEFAULTBASEIMAGE="$base"

mkdir "$tmp/image"
tar -xf dist/ccconform-image.tar -C "$tmp/image"
for layer in "$tmp"/image/*.tar.gz; do tar -xzf "$layer" -C "$tmp/image" 2>/dev/null; done
got=$("$tmp/image/ko-app/ccconform" version)
case "$got" in
  "ccconform $version "*) echo "image-check: dist/ccconform-image.tar holds $got" ;;
  *) echo "image-check: the image's command printed \"$got\", not version $version" >&2; exit 1 ;;
esac
