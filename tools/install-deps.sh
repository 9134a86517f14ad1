#!/usr/bin/env bash
# Installs what building and testing sriovd needs on Debian bookworm. Idempotent; run as root.
# python3-jsonschema and prometheus (for its promtool) check sriovctl's JSON and metrics output
# (tests/mock/test_fleet.py). On a host booted with systemd the prometheus package also enables its
# server; it is not needed running.
set -euo pipefail

PACKAGES=(
        build-essential meson ninja-build pkg-config clang
        libclang-rt-14-dev llvm
        libsystemd-dev libudev-dev libnl-3-dev libnl-route-3-dev libpci-dev pci.ids
        libsmartcols-dev libyaml-dev check
        dbus dbus-daemon systemd udev iproute2 kmod
        umockdev libumockdev-dev gir1.2-umockdev-1.0 python3 python3-gi python3-dbus python3-dbusmock
        busybox-static
        libvirt-clients
        polkitd libxml2-utils
        cockpit-ws cockpit-bridge chromium
        python3-jsonschema prometheus
)
# The browser tests (tests/browser) need node and npm; a machine that has them already (another
# vendor's nodejs, which bundles npm) keeps them, since Debian's npm would conflict with it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
