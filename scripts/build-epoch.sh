#!/usr/bin/env bash
# Prints when this tree's source was made, in Unix seconds: SOURCE_DATE_EPOCH when set
# (reproducible builds), else the last commit's time, else 0 outside git. The firmware's
# wall clock never counts as earlier than this (Util/TrustedClock.swift).
if [[ -n "${SOURCE_DATE_EPOCH:-}" ]]; then
    echo "$SOURCE_DATE_EPOCH"
    exit 0
fi
git -C "$(dirname "$0")/.." log -1 --format=%ct 2>/dev/null || echo 0
