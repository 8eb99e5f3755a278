#!/usr/bin/env bash
# Prints the short git revision of this tree, with -dirty when tracked files differ
# from it, or "unknown" outside git: what --version and bundles name as the build's source.
top=$(dirname "$0")/..
revision=$(git -C "$top" rev-parse --short HEAD 2>/dev/null) || { echo unknown; exit 0; }
git -C "$top" diff --quiet HEAD -- 2>/dev/null || revision+=-dirty
echo "$revision"
