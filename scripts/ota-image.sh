#!/usr/bin/env bash
# make ota-image: a signed update of one binary, what device-app's POST /api/ota takes.
#   ota-image.sh BINARY OUTDIR [KEY]
# KEY is the signer's P-256 private key (PEM). Without one, a key is made in
# OUTDIR/ota.key (under build/, which git ignores; never commit it) and reused by the next
# run. Writes OUTDIR/<name>.ota/: image (the binary), sha256 (hex), signature (base64
# of the DER ECDSA signature over the SHA-256) and ota.pub (the public key the firmware
# must be started with: --ota-key; `make bundle OTA_KEY=…` ships it), and manifest.json,
# what a board pulls (--ota-url …/manifest.json, or the MQTT command): the image's
# name, size, SHA-256 and signature, so that a plain static server can serve an update.
set -euo pipefail
binary=$1 outdir=$2 key=${3:-}
mkdir -p "$outdir"
if [ -z "$key" ]; then
  key=$outdir/ota.key
  if [ ! -e "$key" ]; then
    (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$key")
    echo "ota-image: made a signing key, $key (keep it; never commit it)" >&2
  fi
fi
out=$outdir/$(basename "$binary").ota
rm -rf "$out"
mkdir -p "$out"
cp "$binary" "$out/image"
sha256sum "$out/image" | cut -d' ' -f1 > "$out/sha256"
openssl dgst -sha256 -sign "$key" "$out/image" | base64 -w0 > "$out/signature"
openssl ec -in "$key" -pubout -out "$out/ota.pub" 2>/dev/null
# The signature must verify with the public key before anyone uploads it.
base64 -d "$out/signature" > "$out/signature.der"
openssl dgst -sha256 -verify "$out/ota.pub" -signature "$out/signature.der" "$out/image" > /dev/null
rm "$out/signature.der"
printf '{"image": "image", "size": %s, "sha256": "%s", "signature": "%s"}\n' \
  "$(stat -c %s "$out/image")" "$(cat "$out/sha256")" "$(cat "$out/signature")" > "$out/manifest.json"
echo "$out"
