#!/usr/bin/env bash
# Installs what the real-kernel test tier (tests/vm) and tools/sandbox.sh need on Debian bookworm:
#   - QEMU >= 8 (the igb SR-IOV NIC) from bookworm-backports, which is enabled by deriving it from the
#     machine's own Debian apt source (no mirror host name is written here);
#   - busybox-static (the guest's initramfs);
#   - NetworkManager and libvirt (libvirt-daemon-system, libvirt-clients), which the guest's systemd boot
#     runs next to sriovd (the guest uses the host's root, so they are installed here; nothing is started);
#   - a guest kernel: Debian's linux-image-<version>-amd64, downloaded and unpacked (not installed) into
#     the cache folder ($SRIOVD_VM_CACHE, default /var/cache/sriovd-vm), then depmod'ed;
#   - a second guest kernel, the 6.12 line from bookworm-backports (what its linux-image-amd64 points
#     to), the same way, for the vm-6.12 test (tests/vm/vmrun.py --kernel 6.12).
# Idempotent and fast when everything is already there. Run as root (the kernel step alone works as any
# user that can write the cache folder).
#
# Environment:
#   SRIOVD_VM_CACHE    cache folder (default /var/cache/sriovd-vm)
#   SRIOVD_VM_KERNEL   kernel package version to use, e.g. 6.1.0-35 (default: the newest 6.x kernel that
#                      the machine's default apt sources offer, i.e. what linux-image-amd64 depends on)
#   SRIOVD_VM_KERNEL_6_12  the same for the second kernel, e.g. 6.12.95+deb12 (default: what
#                      bookworm-backports' linux-image-amd64 depends on)
set -euo pipefail

CACHE="${SRIOVD_VM_CACHE:-/var/cache/sriovd-vm}"
BACKPORTS_FILE=/etc/apt/sources.list.d/sriovd-bookworm-backports.sources
export DEBIAN_FRONTEND=noninteractive

say() { echo "vm-deps: $*" >&2; }
die() { echo "vm-deps: error: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

have_qemu_igb() {
        command -v qemu-system-x86_64 >/dev/null 2>&1 &&
                qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"'
}

apt_updated=
apt_update() {
        [ -n "$apt_updated" ] && return 0
        apt-get update -q >&2
        apt_updated=1
}

# Prints a deb822 stanza for bookworm-backports derived from the machine's own entry for "bookworm".
derive_backports_deb822() {
        local f
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -r "$f" ] || continue
                # Stanzas are separated by blank lines; pick the first that is Types: deb and lists the
                # suite "bookworm" itself; keep its URIs, Components and Signed-By.
                awk '
                function flush() {
                        if (is_deb && has_bookworm && uris != "" && !done) {
                                print "Types: deb"
                                print "URIs: " uris
                                print "Suites: bookworm-backports"
                                print "Components: " (comps == "" ? "main" : comps)
                                if (signed != "") print "Signed-By: " signed
                                done = 1
                        }
                        is_deb = 0; has_bookworm = 0; uris = ""; comps = ""; signed = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                {
                        key = $1; sub(/:$/, "", key)
                        val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                        if (key == "Types") { n = split(val, a, /[ \t]+/); for (i = 1; i <= n; i++) if (a[i] == "deb") is_deb = 1 }
                        else if (key == "Suites") { n = split(val, a, /[ \t]+/); for (i = 1; i <= n; i++) if (a[i] == "bookworm") has_bookworm = 1 }
                        else if (key == "URIs") uris = val
                        else if (key == "Components") comps = val
                        else if (key == "Signed-By") signed = val
                }
                END { flush() }
                ' "$f"
        done | awk 'BEGIN { RS = ""; ORS = "\n\n" } NR == 1 { print }'
}

# Same from one-line sources.list entries: "deb [opts] URI bookworm comp...".
derive_backports_oneline() {
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                awk '$1 == "deb" {
                        i = 2
                        opts = ""
                        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
                        if ($(i + 1) == "bookworm") {
                                line = "deb" opts " " $i " bookworm-backports"
                                for (j = i + 2; j <= NF; j++) line = line " " $j
                                print line
                                exit
                        }
                }'
}

enable_backports() {
        if apt-cache policy 2>/dev/null | grep -q 'bookworm-backports'; then
                return 0
        fi
        if [ -f "$BACKPORTS_FILE" ] || [ -f "${BACKPORTS_FILE%.sources}.list" ]; then
                apt_update
                return 0
        fi
        local stanza
        stanza=$(derive_backports_deb822)
        if [ -n "$stanza" ]; then
                say "enabling bookworm-backports in $BACKPORTS_FILE (derived from the machine's bookworm entry)"
                printf '# Written by sriovd tools/vm-deps.sh, derived from this machine'"'"'s bookworm entry.\n%s\n' \
                        "$stanza" >"$BACKPORTS_FILE"
        else
                local line
                line=$(derive_backports_oneline)
                [ -n "$line" ] || die "no apt source for suite 'bookworm' found to derive bookworm-backports from"
                say "enabling bookworm-backports in ${BACKPORTS_FILE%.sources}.list (derived from: bookworm entry)"
                printf '# Written by sriovd tools/vm-deps.sh\n%s\n' "$line" >"${BACKPORTS_FILE%.sources}.list"
        fi
        apt_updated=
        apt_update
}

install_packages() {
        # What the guest runs from the host's root: udevd, a system bus, ip, modprobe; busybox for the initramfs;
        # NetworkManager and libvirtd, which the systemd boot starts next to sriovd (91-networkmanager,
        # 92-libvirt). Installing them starts nothing on a host whose PID 1 is not systemd.
        local p missing=()
        for p in busybox-static kmod udev dbus dbus-daemon iproute2 python3 python3-dbus network-manager \
                libvirt-daemon-system libvirt-clients; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
                is_root || die "missing packages: ${missing[*]}; run this script as root"
                apt_update
                # NetworkManager and libvirtd are for the guest: on a host that runs systemd, installing
                # them must not start them (NetworkManager would take over the host's network). A
                # policy-rc.d that forbids every start does that, for the install only.
                local policy=/usr/sbin/policy-rc.d added=
                if [ ! -e "$policy" ]; then
                        printf '#!/bin/sh\n# written by sriovd tools/vm-deps.sh for one apt-get install\nexit 101\n' >"$policy"
                        chmod 755 "$policy"
                        added=1
                fi
                local rc=0
                apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || rc=$?
                [ -z "$added" ] || rm -f "$policy"
                [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
        fi

        if have_qemu_igb; then
                return 0
        fi
        is_root || die "QEMU with the igb device is missing; run this script as root"
        enable_backports
        say "installing qemu-system-x86 from bookworm-backports"
        apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86 >&2
        have_qemu_igb || die "qemu-system-x86_64 still has no igb device (need QEMU >= 8.0)"
}

pick_kernel_version() {
        if [ -n "${SRIOVD_VM_KERNEL:-}" ]; then
                echo "${SRIOVD_VM_KERNEL%-amd64}"
                return 0
        fi
        # What the default suites' linux-image-amd64 points to is the newest 6.x kernel they carry.
        local v
        v=$(apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: linux-image-\(6\.[0-9.]*-[0-9]*\)-amd64$/\1/p' | head -n1)
        if [ -z "$v" ]; then
                v=$(apt-cache pkgnames linux-image-6. 2>/dev/null |
                        sed -n 's/^linux-image-\(6\.[0-9.]*-[0-9]*\)-amd64$/\1/p' | sort -V | tail -n1)
        fi
        [ -n "$v" ] || die "no linux-image-6.*-amd64 package found in the apt sources"
        echo "$v"
}

# unpack_kernel VERSION: downloads linux-image-VERSION-amd64 into $CACHE/kernel/VERSION, unpacked and
# depmod'ed, unless it is there already.
unpack_kernel() {
        local v="$1" dir pkg tmp kver
        dir="$CACHE/kernel/$v"
        [ -f "$dir/.complete" ] && return 0
        pkg="linux-image-$v-amd64"
        say "downloading $pkg into $CACHE"
        tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
        chmod 755 "$tmp"  # apt-get download drops to the _apt user
        (cd "$tmp" && apt-get download -q "$pkg" >&2) ||
                { rm -rf "$tmp"; die "apt-get download $pkg failed (try 'apt-get update' as root)"; }
        rm -rf "$dir"
        mkdir -p "$dir"
        dpkg-deb -x "$tmp"/*.deb "$dir"
        rm -rf "$tmp"
        kver=$(ls "$dir/lib/modules" | head -n1)
        [ -n "$kver" ] && [ -e "$dir/boot/vmlinuz-$kver" ] || die "unexpected layout in $pkg"
        depmod -b "$dir" "$kver"
        touch "$dir/.complete"
}

# set_kernel_version FILE VERSION: records which unpacked kernel a line uses (vmrun.py reads FILE).
set_kernel_version() {
        echo "$2" >"$CACHE/$1.tmp"
        mv "$CACHE/$1.tmp" "$CACHE/$1"
}

fetch_kernel() {
        local v
        mkdir -p "$CACHE"
        # Reuse what is cached unless a specific version was asked for.
        if [ -z "${SRIOVD_VM_KERNEL:-}" ] && [ -f "$CACHE/kernel-version" ]; then
                v=$(cat "$CACHE/kernel-version")
                if [ -f "$CACHE/kernel/$v/.complete" ]; then
                        say "guest kernel $v-amd64 cached in $CACHE/kernel/$v"
                        return 0
                fi
        fi

        v=$(pick_kernel_version)
        unpack_kernel "$v"
        set_kernel_version kernel-version "$v"
        say "guest kernel $v-amd64 unpacked in $CACHE/kernel/$v"
}

# The 6.12 line: the version bookworm-backports' linux-image-amd64 depends on, e.g. 6.12.95+deb12.
pick_kernel_6_12_version() {
        if [ -n "${SRIOVD_VM_KERNEL_6_12:-}" ]; then
                echo "${SRIOVD_VM_KERNEL_6_12%-amd64}"
                return 0
        fi
        local v
        v=$(apt-cache show linux-image-amd64 2>/dev/null |
                awk '/^Version:/ { ver = $2 } /^Depends:/ && ver ~ /bpo12/ { print }' |
                sed -n 's/.*linux-image-\(6\.12\.[^ ,]*\)-amd64.*/\1/p' | sort -V | tail -n1)
        [ -n "$v" ] || die "no linux-image-6.12.*-amd64 found in bookworm-backports (is it enabled? run as root)"
        echo "$v"
}

fetch_kernel_6_12() {
        local v
        mkdir -p "$CACHE"
        if [ -z "${SRIOVD_VM_KERNEL_6_12:-}" ] && [ -f "$CACHE/kernel-version-6.12" ]; then
                v=$(cat "$CACHE/kernel-version-6.12")
                if [ -f "$CACHE/kernel/$v/.complete" ]; then
                        say "second guest kernel $v-amd64 cached in $CACHE/kernel/$v"
                        return 0
                fi
        fi

        is_root && enable_backports
        v=$(pick_kernel_6_12_version)
        unpack_kernel "$v"
        set_kernel_version kernel-version-6.12 "$v"
        say "second guest kernel $v-amd64 unpacked in $CACHE/kernel/$v"
}

install_packages
fetch_kernel
fetch_kernel_6_12
say "ready: $(qemu-system-x86_64 --version | head -n1), kernels $(cat "$CACHE/kernel-version")-amd64 and" \
        "$(cat "$CACHE/kernel-version-6.12")-amd64 in $CACHE"
