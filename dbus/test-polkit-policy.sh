#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# io.sriovd.policy is valid against polkit's own DTD and declares exactly the two actions the daemon
# checks, each defaulting to admin authentication with a description and a message.
# Usage: test-polkit-policy.sh POLICY-FILE
set -u

POLICY=${1:?usage: $0 POLICY-FILE}
DTD=/usr/share/polkit-1/policyconfig-1.dtd

command -v xmllint >/dev/null || { echo "FAIL: xmllint is not installed (Debian: libxml2-utils)" >&2; exit 1; }
[ -f "$DTD" ] || { echo "FAIL: $DTD is missing (Debian: polkitd)" >&2; exit 1; }

# --nonet: the DOCTYPE names the DTD's URL; the local copy is the one to validate against, and the
# warning that the URL was not fetched is the only thing xmllint may say.
out=$(xmllint --noout --nonet --dtdvalid "$DTD" "$POLICY" 2>&1)
rc=$?
rest=$(grep -v -e 'failed to load external entity' -e 'Attempt to load network entity' \
               -e 'policyconfig-1.dtd">$' -e '^ *\^$' <<<"$out")
if [ "$rc" -ne 0 ] || [ -n "$rest" ]; then
        echo "FAIL: $POLICY does not validate against $DTD: $out" >&2
        exit 1
fi

/usr/bin/python3 - "$POLICY" <<'PY' || exit 1
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'policyconfig', root.tag
actions = {a.get('id'): a for a in root.findall('action')}
want = {'io.sriovd.manage', 'io.sriovd.lease'}
if set(actions) != want:
    sys.exit('FAIL: actions are %s, expected %s' % (sorted(actions), sorted(want)))
for aid, a in actions.items():
    for tag in ('description', 'message'):
        texts = [e.text.strip() for e in a.findall(tag) if e.text and e.text.strip()]
        if not texts:
            sys.exit('FAIL: %s has no %s' % (aid, tag))
    d = a.find('defaults')
    for k in ('allow_any', 'allow_inactive', 'allow_active'):
        v = d.find(k)
        if v is None or v.text.strip() != 'auth_admin_keep':
            sys.exit('FAIL: %s %s is %r, expected auth_admin_keep' % (aid, k, None if v is None else v.text))
print('polkit policy verified: %s' % ', '.join(sorted(actions)))
PY
