#!/bin/sh
# ota-launch: what a bundle's systemd unit runs (ExecStart) when the app updates itself
# (Sources/Meerkat/OTA). It starts ROOT/current/BINARY with ARGS, and guards against an
# update that does not work:
#   - every start of a release not yet confirmed is counted (ROOT/state/<id>.starts);
#   - the app confirms (OtaReleases.confirm: ROOT/state/<id>.confirmed) once it has shown
#     it works; if it has not within OTA_CONFIRM_SECONDS (default 60) it is stopped, and
#     that start counts as failed (systemd's Restart= starts this script again);
#   - a release that had OTA_STARTS (default 3) starts without confirming is given up:
#     marked ROOT/state/<id>.bad (never installed or tried again), `current` is swapped
#     back to `previous` by rename, `previous` is removed (it named that same release),
#     and ROOT/state/rollback says what happened (the app shows it:
#     OtaReleases.rollbackReport).
# A confirmed release runs as it is (exec). With no release installed yet, the bundle's
# binary beside this script (or OTA_FIRST=PATH) is copied in as release "first".
# OTA_RUNNER, when set, prefixes the command (the tests' qemu-user for ARM boards). Plain
# POSIX sh and commands busybox has too (mv -T, sync FILE: busybox 1.35 takes both).
#   ota-launch.sh ROOT BINARY [ARGS...]
set -eu
root=$1 binary=$2
shift 2
starts_limit=${OTA_STARTS:-3}
confirm_seconds=${OTA_CONFIRM_SECONDS:-60}
state=$root/state

# The release id a link names (releases/<id>), or nothing.
release_of() { readlink "$root/$1" 2>/dev/null | sed -n 's|^releases/\([^/]*\)$|\1|p'; }

# Writes $2 into file $1 whole: a temporary synced, renamed over, the folder synced.
write_durably() {
  printf '%s\n' "$2" > "$1.tmp"
  sync "$1.tmp"
  mv -f "$1.tmp" "$1"
  sync "$(dirname "$1")"
}

# Points link ROOT/$1 at releases/$2 by rename (never missing, never half-made).
swap_link() {
  rm -f "$root/$1.tmp"
  ln -s "releases/$2" "$root/$1.tmp"
  mv -fT "$root/$1.tmp" "$root/$1"
  sync "$root"
}

mkdir -p "$state"
# What a kill between a write and its rename left (never read: the names above are).
rm -f "$root/current.tmp" "$root/previous.tmp" "$state"/*.tmp
id=$(release_of current)
# First start of a bundle's unit: its install root (in the unit's state folder) is empty;
# the bundle's own binary (bin/BINARY beside this script, or OTA_FIRST) becomes release
# "first", confirmed (it is the one installed by hand). Copied whole under staging,
# synced, then renamed in; a kill midway repeats it.
first=${OTA_FIRST:-$(dirname "$0")/$binary}
if [ -z "$id" ] && [ -e "$first" ]; then
  mkdir -p "$root/staging" "$root/releases"
  if [ ! -d "$root/releases/first" ]; then
    rm -rf "$root/staging/first"
    mkdir "$root/staging/first"
    cp -L "$first" "$root/staging/first/$binary"
    sync "$root/staging/first/$binary" "$root/staging/first"
    mv "$root/staging/first" "$root/releases/first"
    sync "$root/releases"
  fi
  write_durably "$state/first.confirmed" ""
  swap_link current first
  id=first
fi
if [ -z "$id" ]; then
  echo "ota-launch: $root/current names no release" >&2
  exit 1
fi
if [ ! -e "$state/$id.confirmed" ]; then
  starts=$(cat "$state/$id.starts" 2>/dev/null || echo 0)
  case $starts in '' | *[!0-9]*) starts=0 ;; esac
  if [ "$starts" -ge "$starts_limit" ]; then
    previous=$(release_of previous)
    write_durably "$state/$id.bad" "gave up after $starts starts without confirming"
    if [ -n "$previous" ] && [ "$previous" != "$id" ] && [ -d "$root/releases/$previous" ] \
      && [ ! -e "$state/$previous.bad" ]; then
      # The report first: a kill before the swap repeats both; one after it loses neither.
      write_durably "$state/rollback" "release $id did not confirm in $starts starts; rolled back to $previous"
      swap_link current "$previous"
      echo "ota-launch: release $id did not confirm in $starts starts; rolled back to $previous" >&2
      id=$previous
    else
      echo "ota-launch: release $id did not confirm in $starts starts, and there is no release to roll back to" >&2
    fi
  fi
fi
# After a rollback `previous` names the release now running: removed (synced), so the
# app shows none and no later rollback goes to the same release twice. Checked on every
# start, so a kill between the swap and this removal is repaired by the next one.
if [ "$(release_of previous)" = "$id" ]; then
  rm -f "$root/previous"
  sync "$root"
fi
command="$root/releases/$id/$binary"
# shellcheck disable=SC2086  # OTA_RUNNER is a command and its words
if [ -e "$state/$id.confirmed" ] || [ -e "$state/$id.bad" ]; then exec ${OTA_RUNNER:-} "$command" "$@"; fi

starts=$(cat "$state/$id.starts" 2>/dev/null || echo 0)
case $starts in '' | *[!0-9]*) starts=0 ;; esac
write_durably "$state/$id.starts" $((starts + 1))
# shellcheck disable=SC2086
${OTA_RUNNER:-} "$command" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
# Waits for the confirmation (or the app's end), ten looks a second.
waited=0
while [ ! -e "$state/$id.confirmed" ]; do
  if ! kill -0 "$child" 2>/dev/null; then
    status=0
    wait "$child" || status=$?
    echo "ota-launch: release $id exited ($status) before confirming" >&2
    exit $((status == 0 ? 1 : status))
  fi
  if [ "$waited" -ge $((confirm_seconds * 10)) ]; then
    echo "ota-launch: release $id did not confirm within ${confirm_seconds}s; stopping it" >&2
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" || true
    exit 1
  fi
  sleep 0.1
  waited=$((waited + 1))
done
status=0
wait "$child" || status=$?
exit "$status"
