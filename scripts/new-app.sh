#!/usr/bin/env bash
# make new-app DIR=path [NAME=name]: writes a starter app repository in DIR (outside
# Meerkat) from templates/app: Package.swift depending on this Meerkat by path, the app
# (a page and a WebSocket echo), a host test through TestChannel, a Makefile that calls
# back here for firmware and bundles, README and .gitignore.
set -euo pipefail
dir=${1:?usage: make new-app DIR=path [NAME=name]}
name=${2:-$(basename "$dir")}
meerkat=$(cd "$(dirname "$0")/.." && pwd)
case "$dir" in *" "*) echo "error: DIR=$dir has a space; make cannot build from such a path" >&2; exit 1 ;; esac
if ! [[ "$name" =~ ^[A-Za-z][A-Za-z0-9_-]*$ ]]; then
  echo "error: NAME=$name: an app name is a letter, then letters, digits, - or _ (it names the binary and the Swift module)" >&2
  exit 1
fi
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
  echo "error: DIR=$dir is not empty; new-app writes a new repository into an empty or new folder" >&2
  exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
module=${name//-/_}
# SwiftPM names a path dependency after its folder (lower case).
meerkat_id=$(basename "$meerkat" | tr '[:upper:]' '[:lower:]')
(cd "$meerkat/templates/app" && find . -type f) | while read -r f; do
  target=$dir/${f//__NAME__/$name}
  [ "$(basename "$f")" = gitignore ] && target=$dir/.gitignore
  mkdir -p "$(dirname "$target")"
  sed -e "s|__MEERKAT_ID__|$meerkat_id|g" -e "s|__MEERKAT__|$meerkat|g" -e "s|__MODULE__|$module|g" \
      -e "s|__NAME__|$name|g" "$meerkat/templates/app/$f" > "$target"
done
echo "wrote $dir ($name): cd $dir && make test && make firmware BOARD=rpi4"
