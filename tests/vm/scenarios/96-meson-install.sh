#!/bin/bash
# The other way to install (README, "Installing on a real host"): `meson install` of the build, then
# `systemctl daemon-reload` and `systemctl enable --now sriovd.service` on the running system. The unit,
# the binaries, the bus policy and activation, the polkit actions, the man pages and the completion land
# under the build's prefix; sriovd.service applies a file, stops leaving the VFs in place and is
# started again by bus activation. Runs after the package scenarios (94, 95), which leave the package
# purged.
# vm-mode: systemd
# vm-needs: sriovd sriovctl
# vm-timeout: 240
. "$VM_LIB"

if dpkg-query -W -f='${Status}' sriovd 2>/dev/null | grep -q 'ok installed'; then
        log "the package is installed (vmrun.py --deb): purging it first"
        vm_dpkg -P sriovd
fi
prefix=$(meson introspect "$VM_BUILD_DIR" --buildoptions |
        /usr/bin/python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
log "meson install of $VM_BUILD_DIR (prefix $prefix)"
meson install -C "$VM_BUILD_DIR" --no-rebuild --quiet >meson-install.log 2>&1 || fail "meson install failed (meson-install.log)"
for f in sbin/sriovd bin/sriovctl share/dbus-1/system.d/io.sriovd.conf share/dbus-1/system-services/io.sriovd.service \
        share/polkit-1/actions/io.sriovd.policy share/man/man8/sriovd.8 share/man/man5/sriovd.conf.5 \
        share/man/man1/sriovctl.1 share/bash-completion/completions/sriovctl; do
        test -f "$prefix/$f" || fail "meson install did not install $prefix/$f"
done
if [ "$prefix" != /usr ]; then
        # dbus-daemon reads policies from /usr/share and /etc only (meson says so at setup): as an admin
        # of a /usr/local installation does.
        mkdir -p /etc/dbus-1/system.d
        ln -sf "$prefix/share/dbus-1/system.d/io.sriovd.conf" /etc/dbus-1/system.d/
        systemctl reload dbus.service
fi

systemctl daemon-reload
systemctl enable --now sriovd.service
assert_eq "$(systemctl is-enabled sriovd.service)" enabled "sriovd.service"
assert_eq "$(systemctl is-active sriovd.service)" active "sriovd.service"
assert_match "$(systemctl show -p ExecStart --value sriovd.service)" "path=$prefix/sbin/sriovd " "ExecStart"

pf=0000:01:00.0
pf_conf 10-first $pf 2
"$prefix/bin/sriovctl" reload
assert_eq "$(pf_numvfs $pf)" 2 "sriov_numvfs after sriovctl reload"
assert_eq "$(vf_count $pf)" 2 "VF devices after sriovctl reload"
assert_eq "$(pf_prop $pf State)" enforced "State of $pf"

log "systemctl stop leaves the VFs; bus activation starts sriovd.service again"
systemctl stop sriovd.service
assert_eq "$(systemctl is-active sriovd.service || true)" inactive "sriovd.service after stop"
assert_eq "$(pf_numvfs $pf)" 2 "sriov_numvfs after stop"
r=$(bus_call /io/sriovd io.sriovd1.Manager ListPhysicalFunctions)
assert_contains "$r" "/io/sriovd/pf/" "ListPhysicalFunctions through activation"
assert_eq "$(systemctl is-active sriovd.service)" active "sriovd.service after bus activation"
expect_done
