#!/bin/bash
# The Debian package installed at boot (vmrun.py --deb, oldest first) upgraded with `apt-get install` to
# the newer one: sriovd.service is restarted, and the new sriovd carries on from what the old one left:
# a lease held by a running bus peer and a persistent lease (journals, bus objects, the VFs' MAC and
# VLAN), a count persisted with `sriovctl set-numvfs` and one set with --runtime. No VF is destroyed or
# re-created on the way (PCI uevents). The package's conffile is there and its example, uncommented, is
# a valid configuration file.
# vm-mode: systemd
# vm-needs: sriovd sriovctl package-upgrade
# vm-timeout: 300
. "$VM_LIB"

mapfile -t debs < <(vm_debs)
old=${debs[0]}
new=${debs[-1]}
v_old=$(dpkg-deb -f "$old" Version)
v_new=$(dpkg-deb -f "$new" Version)
log "installed at boot: $(dpkg-query -W -f='${Version} ${Status}' sriovd); upgrading to $v_new"
assert_eq "$(dpkg-query -W -f='${Version}' sriovd)" "$v_old" "version installed at boot"
dpkg --compare-versions "$v_new" gt "$v_old" || fail "$new ($v_new) is not newer than $old ($v_old)"
assert_eq "$(systemctl is-enabled sriovd.service)" enabled "sriovd.service enabled by the package"
assert_eq "$(command -v sriovd)" /usr/sbin/sriovd "sriovd on PATH"

example=/etc/sriovd/pf.d/example.conf.example
test -f $example || fail "no $example"
dpkg-query -W -f='${Conffiles}\n' sriovd | grep -q " $example " || fail "$example is not a conffile of sriovd"
# Uncommented (the lines "#Key=..." and "#[Section]"), the example is what sriovd.conf(5) describes.
sed -n 's/^#\([][A-Za-z]\)/\1/p' $example >example.conf
log "the example uncommented: $(tr '\n' ' ' <example.conf)"
grep -q '^\[Match\]' example.conf || fail "the example has no [Match] to uncomment"
/usr/bin/sriovctl check-config "$VM_RESULT_DIR/example.conf" || fail "the uncommented example is refused"

pf1=0000:01:00.0
pf2=0000:02:00.0
pf_conf 10-first $pf1 4
pf_conf 20-second $pf2 3
systemctl start sriovd.service
wait_eq 60 "sriovd.service active" active systemctl is-active sriovd.service
wait_eq 60 "4 VFs on $pf1" 4 pf_numvfs $pf1
wait_eq 60 "3 VFs on $pf2" 3 pf_numvfs $pf2

log "a count persisted on $pf2 and one set --runtime on $pf1, both against the files"
/usr/bin/sriovctl set-numvfs $pf2 2
/usr/bin/sriovctl --runtime set-numvfs $pf1 5
assert_eq "$(pf_numvfs $pf2)" 2 "sriov_numvfs of $pf2"
assert_eq "$(pf_numvfs $pf1)" 5 "sriov_numvfs of $pf1"
test -f /var/lib/sriovd/pf/$pf2.conf || fail "no persisted state for $pf2"

log "a lease held by a running bus peer, and a persistent one"
rm -f holder.ctl
mkfifo holder.ctl
/usr/bin/python3 "$VM_LIB_DIR/guest/lease-client.py" $pf1 MACAddress=02:00:00:00:91:01 VLANId=911 \
        Consumer=vm-held <holder.ctl >holder.out 2>&1 &
vm_track_pid $!
exec {holder_fd}>holder.ctl
wait_until 60 "lease granted" grep -qE '^(vf |ERROR)' holder.out
! grep -q '^ERROR' holder.out || fail "lease: $(cat holder.out)"
/usr/bin/sriovctl request --persistent --consumer=vm-persistent $pf2 mac=02:00:00:00:91:02 vlan=912 >persistent.out
log "persistent lease: $(tr '\n' ' ' <persistent.out)"
vf_line() { ip -d link show dev "$(pf_ifname "$1")" | grep -E "^\s+vf $2 "; }
assert_contains "$(vf_line $pf1 0)" "vlan 911," "leased vf 0 of $pf1"
assert_contains "$(vf_line $pf2 0)" "vlan 912," "leased vf 0 of $pf2"

snapshot() { # what must be the same after the upgrade
        echo "numvfs $pf1=$(pf_numvfs $pf1) $pf2=$(pf_numvfs $pf2)"
        vf_list $pf1
        vf_list $pf2
        vf_line $pf1 0
        vf_line $pf2 0
        /usr/bin/sriovctl --no-legend leases
        (cd /var/lib/sriovd && for f in pf/*.conf leases/*.lease; do echo "== $f"; cat "$f"; done)
}
snapshot >before.txt
cat before.txt
main=$(systemctl show -p MainPID --value sriovd.service)

log "apt-get install $new"
uevents_start uevents.txt
vm_apt install --no-install-recommends "$new"
uevents_stop
assert_eq "$(dpkg-query -W -f='${Version} ${Status}' sriovd)" "$v_new install ok installed" "package after the upgrade"
assert_eq "$(systemctl is-enabled sriovd.service)" enabled "sriovd.service after the upgrade"
wait_eq 60 "sriovd.service active" active systemctl is-active sriovd.service
main2=$(systemctl show -p MainPID --value sriovd.service)
log "MainPID $main before, $main2 after"
assert_ne "$main2" "$main" "sriovd's MainPID after the upgrade (restarted)"
journalctl -b -u sriovd.service --no-pager >sriovd-journal.log 2>&1 || true
# What the new sriovd said about the two journals it found.
kept=$(journalctl -b --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(systemctl show -p InvocationID --value sriovd.service)" |
        grep -c '^Lease .* kept$' || true)
assert_eq "$kept" 2 "leases the new sriovd kept (sriovd-journal.log)"
/usr/bin/sriovctl apply # what the new sriovd has done since it started, done
snapshot >after.txt
diff -u before.txt after.txt || fail "the VFs, leases or state differ after the upgrade (diff above)"
assert_eq "$(uevent_count uevents.txt remove)" 0 "PCI remove uevents during the upgrade"
assert_eq "$(uevent_count uevents.txt add)" 0 "PCI add uevents during the upgrade"

log "the lease of the running peer is still its own: released, its VF is restored"
echo release >&$holder_fd
wait_until 60 "Release() answered" grep -qE '^(released|ERROR)' holder.out
! grep -q '^ERROR' holder.out || fail "release: $(cat holder.out)"
exec {holder_fd}>&-
line=$(vf_line $pf1 0)
log "$line"
[[ $line != *"vlan 911"* ]] || fail "vf 0 of $pf1 kept the lease's VLAN after the release: $line"
assert_eq "$(/usr/bin/sriovctl --no-legend leases | grep -c vm-held || true)" 0 "vm-held in sriovctl leases"
expect_done
