#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The completion's own logic, with minimal stand-ins for the bash-completion helpers it uses (the
# package need not be installed to build). Usage: test-completion.sh COMPLETION-FILE SRIOVCTL
set -u

FILE=${1:?} SRIOVCTL=${2:?}

# Stand-ins: words as given (no splitting at '=', as "_init_completion -n =" does), no files or hosts.
_init_completion() {
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${words[cword]}
        prev=${words[cword - 1]:-}
}
_filedir() { COMPREPLY=(FILES); }
_known_hosts_real() { COMPREPLY=(HOSTS); }
compopt() { :; }
complete() { :; }

# sriovctl as the completion sees it: a status table of one PF, whatever the bus says.
sriovctl() {
        case " $* " in
                *" leases "*) printf '1 0000:01:00.0 0 0000:01:10.0 vm1 :1.5 no 2024-01-01 10:00:00\n7 0000:02:00.0 3 0000:02:10.6 - - yes 2024-01-01 10:00:00\n' ;;
                *) printf '0000:01:00.0 enp1s0 i40e Model 0 - 8 unmanaged\n0000:02:00.0 - i40e Model 0 - 8 unmanaged\n' ;;
        esac
}

# shellcheck source=/dev/null
source "$FILE"

failures=0
check() { # check "EXPECTED" WORDS...
        local expected=$1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        _sriovctl
        local got
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
        if [ "$got" != "$expected" ]; then
                echo "FAIL: completing '$*': got '$got', expected '$expected'" >&2
                failures=$((failures + 1))
        fi
}

check "set-numvfs set-vf show status" sriovctl s
check "set-numvfs set-vf" sriovctl --json se
check "--json" sriovctl --js
check "0000:01:00.0 0000:02:00.0 enp1s0" sriovctl show ""
check "enp1s0" sriovctl -H host set-numvfs en
check "" sriovctl show enp1s0 ""
check "VLANId= VLANProtocol=" sriovctl set-vf enp1s0 0 VL
check "vlan-proto= vlan=" sriovctl set-vf enp1s0 0 vl
check "no yes" sriovctl set-vf enp1s0 0 trust=
check "auto disable enable" sriovctl set-vf enp1s0 0 mac=02:00:00:00:00:01 state=
check "FILES" sriovctl --config-dir ""
check "HOSTS" sriovctl -H ""
check "FILES" sriovctl check-config ""
check "0000:01:00.0 0000:02:00.0" sriovctl request 0000
check "VLANId= VLANProtocol=" sriovctl request VL
check "vlan-proto= vlan=" sriovctl request enp1s0 --consumer vm1 vl
check "vfio-pci" sriovctl request --persistent driver=
check "no yes" sriovctl request enp1s0 mac=02:00:00:00:00:01 trust=
check "" sriovctl request --consumer ""
check "leases" sriovctl lea
check "--force --format" sriovctl status --for
check "--format=prometheus" sriovctl status --format=p
check "json prometheus table" sriovctl status --format ""
check "" sriovctl --format json status ""
check "release reload request" sriovctl re
check "1 7" sriovctl release ""
check "" sriovctl release 1 ""
check "10 30 300 60" sriovctl set-numvfs enp1s0 2 --wait ""
check "0000:01:00.0 0000:02:00.0 enp1s0" sriovctl set-numvfs --wait 30 ""
check "" sriovctl set-numvfs --wait 30 enp1s0 ""

# Every verb and long option of --help can be completed.
help=$("$SRIOVCTL" --help)
for verb in $(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk 'NR > 1 && NF { print $1 }'); do
        COMP_WORDS=(sriovctl "$verb"); COMP_CWORD=1; COMPREPLY=(); _sriovctl
        printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$verb" || { echo "FAIL: verb $verb is not completed" >&2; failures=$((failures + 1)); }
done
for opt in $(grep -oE -- '--[a-z-]+' <<<"$help" | sort -u); do
        COMP_WORDS=(sriovctl "$opt"); COMP_CWORD=1; COMPREPLY=(); _sriovctl
        printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$opt" || { echo "FAIL: option $opt is not completed" >&2; failures=$((failures + 1)); }
done

[ "$failures" -eq 0 ] || exit 1
echo "completion verified"
