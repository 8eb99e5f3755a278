#!/usr/bin/env bash
# Prints Meerkat's version, read from its one source: Sources/Meerkat/Version.swift.
sed -n 's/^public let version = "\(.*\)"$/\1/p' "$(dirname "$0")/../Sources/Meerkat/Version.swift"
