#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The formats a fleet of hosts reads (docs/fleet.md): `sriovctl --json status` and `show` validated
against their JSON Schemas (docs/sriovctl-status.schema.json, docs/sriovctl-show.schema.json), which
must describe every property the daemon has, with its D-Bus type; and `sriovctl status
--format=prometheus` checked by promtool and read back value by value, with label values an attacker
chooses (interface names, lease consumers)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import copy  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402
import xml.etree.ElementTree as ET  # noqa: E402

try:
    import jsonschema
except ImportError:     # a failure, not a skip: tools/install-deps.sh installs it
    jsonschema = None

from harness import wait_for, write_pf_conf  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(SOURCE, 'docs')
INTROSPECTION = os.path.join(SOURCE, 'dbus', 'io.sriovd1.xml')
MGR = '/io/sriovd'
MGR_IF = 'io.sriovd1.Manager'
PF_IF = 'io.sriovd1.PhysicalFunction'
VF_IF = 'io.sriovd1.VirtualFunction'
PF1, PF2, PF3 = '0000:01:00.0', '0000:02:00.0', '0000:03:00.0'
# Linux refuses '/', ':' and white space in interface names, nothing else: quotes and backslashes
# reach the labels.
NASTY_IFNAME = 'e"p3\\s0'
# A lease's consumer is any printable UTF-8 without control characters.
NASTY_CONSUMER = 'vm "one" \\ two, ü}'


def load_schema(name):
    with open(os.path.join(DOCS, name)) as f:
        return json.load(f)


def bus_properties(interface):
    """{name: D-Bus type} of interface in the introspection snapshot the daemon is tested against."""
    root = ET.parse(INTROSPECTION).getroot()
    for i in root.iter('interface'):
        if i.get('name') == interface:
            return {p.get('name'): p.get('type') for p in i.iter('property')}
    raise AssertionError('%s not in %s' % (interface, INTROSPECTION))


# What each D-Bus type must be in the schema: JSON type and the integer range.
DBUS_TO_JSON = {
    's': ('string', None), 'o': ('string', None), 'b': ('boolean', None),
    'y': ('integer', (0, 255)), 'q': ('integer', (0, 65535)), 'n': ('integer', (-32768, 32767)),
    'u': ('integer', (0, 2**32 - 1)), 'i': ('integer', (-2**31, 2**31 - 1)),
    't': ('integer', (0, 2**64 - 1)), 'x': ('integer', (-2**63, 2**63 - 1)),
    'as': ('array', None), 'ao': ('array', None), 'a{sv}': ('object', None),
}


def validator(schema):
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# --- the Prometheus text format, read back -------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {'n': '\n', '\\': '\\', '"': '"'}[m.group(1)], v)


def parse_exposition(text):
    """[(name, {label: value}, float)], and {name: (type, help)}; checks the layout on the way: every
    sample after its family's HELP and TYPE, the samples of a family together."""
    samples, families, done = [], {}, set()
    current = None
    for line in text.splitlines():
        if line.startswith('# HELP '):
            name, help_text = line[7:].split(' ', 1)
            assert name not in families, 'family %s twice' % name
            if current:
                done.add(current)
            current = name
            families[name] = [None, help_text]
        elif line.startswith('# TYPE '):
            name, typ = line[7:].split(' ', 1)
            assert name == current, 'TYPE of %s after HELP of %s' % (name, current)
            families[name][0] = typ
        else:
            m = SAMPLE.match(line)
            assert m, 'not a sample line: %r' % line
            name, labels, value = m.groups()
            assert name == current and families[name][0], 'sample of %s outside its family' % name
            parsed = {}
            if labels:
                pos = 0
                for lm in LABEL.finditer(labels):
                    assert lm.start() == pos, 'bad labels %r' % labels
                    parsed[lm.group(1)] = unescape(lm.group(2))
                    pos = lm.end()
                assert pos == len(labels), 'bad labels %r' % labels
            samples.append((name, parsed, float(value)))
    return samples, families


def values(samples, name, **match):
    return [(labels, v) for n, labels, v in samples
            if n == name and all(labels.get(k) == x for k, x in match.items())]


def value(samples, name, **match):
    found = values(samples, name, **match)
    assert len(found) == 1, '%s %r: %d samples: %r' % (name, match, len(found), found)
    return found[0][1]


class SlowVfioKernel(harness.FakeKernel):
    """The fake kernel, where a write of vfio-pci to the driver_override of a VF in slow_vfio blocks
    that long: a VF sriovd is still bringing back to its driver, for as long as a test needs."""

    def __init__(self, *args, **kwargs):
        self.slow_vfio = {}
        super().__init__(*args, **kwargs)

    def store_override(self, dev, value):
        if value.strip() == 'vfio-pci':
            time.sleep(self.slow_vfio.get(dev.addr, 0))
        return super().store_override(dev, value)


class FleetTestCase(harness.MockTestCase):
    kernel_class = SlowVfioKernel

    def setUp(self):
        super().setUp()
        if jsonschema is None:
            self.fail('python3-jsonschema is not installed (tools/install-deps.sh installs it)')

    def start(self):
        d = harness.Daemon(self.k, self.bus, self.wd)
        self.daemons.append(d)
        d.wait_ready()
        return d

    def pf_path(self, dev):
        return self.bus.call(MGR, MGR_IF, 'GetPhysicalFunction', 's', dev)[0]

    def pf(self, dev, prop):
        return self.bus.get(self.pf_path(dev), PF_IF, prop)

    def wait_pf(self, dev, state, numvfs=None):
        wait_for(lambda: self.pf(dev, 'State') == state and
                 (numvfs is None or self.k.numvfs(dev) == numvfs), 20,
                 what='%s %s with %s VFs' % (dev, state, numvfs))

    def sriovctl(self, *args):
        r = harness.sriovctl(self.bus, *args)
        self.assertEqual(r.returncode, 0, 'sriovctl %s: %s' % (' '.join(args), r.stderr))
        return r.stdout

    def fleet(self):
        """PF1 managed (3 VFs, VF 1 on vfio-pci, VF 0 leased by NASTY_CONSUMER), PF2 failed (more VFs
        than it has), PF3 unmanaged with NASTY_IFNAME. Returns the time window PF2 failed in."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.k.add_pf(PF3, total=4, ifname=NASTY_IFNAME, uevent=False)
        write_pf_conf(self.etc, '10-first.conf', {'PciAddress': PF1}, 3,
                      '\n[VirtualFunction]\nVirtualFunction=1\nDriver=vfio-pci\n')
        write_pf_conf(self.etc, '20-second.conf', {'PciAddress': PF2}, 9)
        before = time.time()
        self.start()
        self.wait_pf(PF1, 'enforced', 3)
        self.wait_pf(PF2, 'failed')
        after = time.time()
        self.bus.call(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', PF1, 2,
                      'Consumer', 's', NASTY_CONSUMER, 'Persistent', 'b', 'true')
        return before, after


class TestInventoryJson(FleetTestCase):
    def test_schemas_describe_every_property(self):
        """Every property on the bus is in the schemas, with its D-Bus type, required; nothing else
        is; show's PF is status's PF; the Policy keys are sriovctl's."""
        status = load_schema('sriovctl-status.schema.json')
        show = load_schema('sriovctl-show.schema.json')
        validator(status)
        validator(show)
        self.assertEqual(status['$defs']['PhysicalFunction'], show['$defs']['PhysicalFunction'],
                         'the PF of sriovctl-show.schema.json differs from sriovctl-status.schema.json')
        for iface, schema in ((PF_IF, status['$defs']['PhysicalFunction']),
                              (VF_IF, show['$defs']['VirtualFunction'])):
            props = bus_properties(iface)
            documented = schema['properties']
            self.assertEqual(sorted(documented), sorted(props),
                             '%s: the schema\'s members are not the bus properties' % iface)
            self.assertEqual(sorted(schema['required']), sorted(props), '%s: not all required' % iface)
            for name, sig in props.items():
                typ, rng = DBUS_TO_JSON[sig]
                d = documented[name]
                self.assertEqual(d.get('type'), typ, '%s.%s (%s) is not %s in the schema' % (iface, name, sig, typ))
                self.assertTrue(d.get('description') or name == 'Policy' or d.get('items'),
                                '%s.%s has no description' % (iface, name))
                if rng:
                    lo, hi = d.get('minimum'), d.get('maximum')
                    self.assertTrue(lo is not None and hi is not None and rng[0] <= lo and hi <= rng[1],
                                    '%s.%s: range [%s, %s] is not within %s' % (iface, name, lo, hi, sig))

        # The keys sriovctl --help lists come from the daemon's policy table.
        out = subprocess.run([harness.sriovctl_path(), '--help'], capture_output=True, text=True).stdout
        block = out.split('Keys for set-vf and request')[1].split('\n\n')[0]
        keys = set(re.findall(r'\b([A-Z][A-Za-z]+)=', block))
        self.assertIn('MACAddress', keys)
        policy = show['$defs']['VirtualFunction']['properties']['Policy']['properties']
        self.assertEqual(sorted(policy), sorted(keys), 'Policy keys of the schema are not the policy keys')

    def test_real_output_validates(self):
        self.fleet()
        status = validator(load_schema('sriovctl-status.schema.json'))
        show = validator(load_schema('sriovctl-show.schema.json'))

        doc = json.loads(self.sriovctl('--json', 'status'))
        status.validate(doc)
        self.assertEqual(json.loads(self.sriovctl('status', '--format=json')), doc)
        self.assertEqual([p['PciAddress'] for p in doc['PhysicalFunctions']], [PF1, PF2, PF3])
        by = {p['PciAddress']: p for p in doc['PhysicalFunctions']}
        self.assertEqual((by[PF1]['NumVFs'], by[PF1]['DesiredNumVFs'], by[PF1]['State']), (3, 3, 'enforced'))
        self.assertEqual((by[PF2]['DesiredNumVFs'], by[PF2]['State']), (9, 'failed'))
        self.assertEqual((by[PF3]['Interface'], by[PF3]['DesiredNumVFs']), (NASTY_IFNAME, -1))

        for pf in (PF1, PF2, PF3):
            d = json.loads(self.sriovctl('--json', 'show', pf))
            show.validate(d)
        d = json.loads(self.sriovctl('--json', 'show', PF1))
        vfs = d['VirtualFunctions']
        self.assertEqual([v['Index'] for v in vfs], [0, 1, 2])
        self.assertNotEqual(vfs[0]['Lease'], '/')
        self.assertEqual(vfs[1]['Policy'], {'Driver': 'vfio-pci'})
        self.assertEqual(vfs[1]['Driver'], 'vfio-pci')

        # The schemas catch a member that changes type or goes missing.
        def refused(v, doc, what):
            errors = list(v.iter_errors(doc))
            self.assertTrue(errors, 'the schema accepts %s' % what)

        for field, bad in (('NumVFs', '3'), ('DesiredNumVFs', None), ('DriversAutoprobe', 1),
                           ('LastErrorTimestamp', -1), ('State', 'ok'), ('VirtualFunctions', '/io')):
            bad_doc = copy.deepcopy(doc)
            bad_doc['PhysicalFunctions'][0][field] = bad
            refused(status, bad_doc, 'PF %s=%r' % (field, bad))
        for field in ('PciAddress', 'State', 'LastErrorTimestamp'):
            bad_doc = copy.deepcopy(doc)
            del bad_doc['PhysicalFunctions'][1][field]
            refused(status, bad_doc, 'a PF without %s' % field)
        good = json.loads(self.sriovctl('--json', 'show', PF1))
        for field, bad in (('Index', -1), ('Lease', 5), ('Trust', 'yes'), ('IommuGroup', '3'),
                           ('Policy', {'Driver': 1}), ('Policy', {'Bogus': 1})):
            bad_doc = copy.deepcopy(good)
            bad_doc['VirtualFunctions'][1][field] = bad
            refused(show, bad_doc, 'VF %s=%r' % (field, bad))
        bad_doc = copy.deepcopy(good)
        del bad_doc['VirtualFunctions'][2]['MACAddress']
        refused(show, bad_doc, 'a VF without MACAddress')


class TestPrometheus(FleetTestCase):
    def promtool(self, text):
        promtool = shutil.which('promtool')
        if not promtool:
            self.fail('promtool is not installed (Debian package prometheus; tools/install-deps.sh installs it)')
        r = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, 'promtool check metrics: %s%s\n%s' % (r.stdout, r.stderr, text))
        return r.stdout + r.stderr

    def test_metrics(self):
        before, after = self.fleet()
        text = self.sriovctl('status', '--format=prometheus')
        self.promtool(text)
        samples, families = parse_exposition(text)
        for name, (typ, help_text) in families.items():
            self.assertTrue(name.startswith('sriovd_'), name)
            self.assertEqual(typ, 'gauge', name)
            self.assertTrue(help_text, name)

        # a managed PF failed: degraded
        self.assertEqual(value(samples, 'sriovd_state', state='degraded'), 1)
        self.assertEqual(value(samples, 'sriovd_state', state='running'), 0)
        self.assertEqual(len(values(samples, 'sriovd_info')), 1)

        # per PF: actual and desired VFs, managed, state, last error time
        self.assertEqual(value(samples, 'sriovd_pf_vfs', pf=PF1, interface='enp1s0'), 3)
        self.assertEqual(value(samples, 'sriovd_pf_desired_vfs', pf=PF1), 3)
        self.assertEqual(value(samples, 'sriovd_pf_total_vfs', pf=PF1), 7)
        self.assertEqual(value(samples, 'sriovd_pf_desired_vfs', pf=PF2), 9)
        self.assertEqual(value(samples, 'sriovd_pf_vfs', pf=PF2), 0)
        self.assertEqual(values(samples, 'sriovd_pf_desired_vfs', pf=PF3), [], 'unmanaged PF3 has a desired count')
        self.assertEqual([value(samples, 'sriovd_pf_managed', pf=p) for p in (PF1, PF2, PF3)], [1, 1, 0])
        for pf, current in ((PF1, 'enforced'), (PF2, 'failed'), (PF3, 'unmanaged')):
            states = {l['state']: v for l, v in values(samples, 'sriovd_pf_state', pf=pf)}
            self.assertEqual(states, {s: float(s == current) for s in
                                      ('unmanaged', 'converging', 'enforced', 'drift', 'failed')}, pf)
        self.assertEqual(value(samples, 'sriovd_pf_last_error_timestamp_seconds', pf=PF1), 0)
        failed_at = value(samples, 'sriovd_pf_last_error_timestamp_seconds', pf=PF2)
        self.assertTrue(before - 1 <= failed_at <= after + 1, (before, failed_at, after))
        self.assertEqual(failed_at, self.pf(PF2, 'LastErrorTimestamp') / 1e6)
        self.assertEqual(value(samples, 'sriovd_pf_info', pf=PF1, driver='igb', vendor_id='8086',
                               device_id='10c9', config_source=os.path.join(self.etc, 'pf.d', '10-first.conf')), 1)
        # the attacker's interface name, back as it was
        self.assertEqual(value(samples, 'sriovd_pf_vfs', pf=PF3, interface=NASTY_IFNAME), 0)

        # per VF: lease (with the attacker's consumer) and drift
        self.assertEqual(value(samples, 'sriovd_vf_leased', pf=PF1, vf='0', consumer=NASTY_CONSUMER), 1)
        self.assertEqual(value(samples, 'sriovd_vf_leased', pf=PF1, vf='1', consumer=''), 0)
        self.assertEqual(len(values(samples, 'sriovd_vf_leased', pf=PF1)), 3)
        self.assertEqual(value(samples, 'sriovd_vf_info', pf=PF1, vf='1', address=harness.vf_address(PF1, 1),
                               driver='vfio-pci'), 1)
        for i in range(3):
            self.assertEqual(value(samples, 'sriovd_vf_state', pf=PF1, vf=str(i), state='ok'), 1)
            self.assertEqual(value(samples, 'sriovd_vf_state', pf=PF1, vf=str(i), state='drift'), 0)
            self.assertEqual(value(samples, 'sriovd_vf_policy_keys_not_in_force', pf=PF1, vf=str(i)), 0)

        # VF 1 moved to another driver behind sriovd's back: its Driver= is not in force until sriovd
        # has it back (which the fake kernel holds up for 8 s)
        vf1 = harness.vf_address(PF1, 1)
        self.k.slow_vfio[vf1] = 8
        self.k.bind_vf(vf1, 'igbvf')
        wait_for(lambda: self.k.vfs[vf1].override != 'igbvf' or self.k.vfs[vf1].driver != 'igbvf', 5,
                 what='sriovd acting on VF 1')
        text = self.sriovctl('status', '--format=prometheus')
        self.promtool(text)
        samples, _ = parse_exposition(text)
        self.assertEqual(value(samples, 'sriovd_vf_policy_keys_not_in_force', pf=PF1, vf='1'), 1, text)
        self.assertEqual(value(samples, 'sriovd_vf_policy_keys_not_in_force', pf=PF1, vf='2'), 0)
        self.k.slow_vfio.clear()
        wait_for(lambda: self.k.vfs[vf1].driver == 'vfio-pci', 30, what='vfio-pci back on VF 1')
        wait_for(lambda: value(parse_exposition(self.sriovctl('status', '--format=prometheus'))[0],
                               'sriovd_vf_policy_keys_not_in_force', pf=PF1, vf='1') == 0, 10,
                 what='VF 1 in force again')

        # The same error again keeps its time; a fixed PF has none.
        # docs/fleet.md: a reload fails the configuration management run while a PF is not as its
        # file says, and keeps the error's time
        for verb in ('apply', 'reload'):
            r = harness.sriovctl(self.bus, verb)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn('Cannot set 9 VFs on %s' % PF2, r.stderr)
        self.assertEqual(self.pf(PF2, 'LastErrorTimestamp') / 1e6, failed_at)
        write_pf_conf(self.etc, '20-second.conf', {'PciAddress': PF2}, 5)
        self.sriovctl('reload')
        self.wait_pf(PF2, 'enforced', 5)
        samples, _ = parse_exposition(self.sriovctl('status', '--format=prometheus'))
        self.assertEqual(value(samples, 'sriovd_pf_last_error_timestamp_seconds', pf=PF2), 0)
        self.assertEqual(value(samples, 'sriovd_state', state='running'), 1)
        self.assertEqual(value(samples, 'sriovd_state', state='degraded'), 0)

        # A file with a syntax error does not fail the reload (docs/fleet.md: check-config catches it);
        # its PF shows the error, with its time, until the file is gone.
        broken = os.path.join(self.etc, 'pf.d', '30-broken.conf')
        with open(broken, 'w') as f:
            f.write('[Match]\nPciAddress=%s\n\n[PhysicalFunction]\nNumVFs=abc\n' % PF3)
        self.sriovctl('reload')
        self.assertEqual(self.pf(PF3, 'State'), 'failed')
        self.assertTrue(self.pf(PF3, 'LastError').startswith(broken + ':5: '), self.pf(PF3, 'LastError'))
        samples, _ = parse_exposition(self.sriovctl('status', '--format=prometheus'))
        self.assertEqual(value(samples, 'sriovd_pf_state', pf=PF3, state='failed'), 1)
        self.assertGreater(value(samples, 'sriovd_pf_last_error_timestamp_seconds', pf=PF3), before)
        os.unlink(broken)
        self.sriovctl('reload')
        samples, _ = parse_exposition(self.sriovctl('status', '--format=prometheus'))
        self.assertEqual(value(samples, 'sriovd_pf_state', pf=PF3, state='unmanaged'), 1)
        self.assertEqual(value(samples, 'sriovd_pf_last_error_timestamp_seconds', pf=PF3), 0)

    def test_format_usage(self):
        for args in (['status', '--format=xml'], ['--json', 'status', '--format=prometheus'],
                     ['show', PF1, '--format=prometheus']):
            r = subprocess.run([harness.sriovctl_path()] + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, '%s: %s' % (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
        r = subprocess.run([harness.sriovctl_path(), 'status', '--format=xml'], capture_output=True, text=True)
        self.assertIn("'xml'", r.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
