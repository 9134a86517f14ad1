#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for sriovd on a private bus, speaking the contract (docs/dbus-api.md) closely enough to
test sriovctl's bus side without the daemon or hardware: objects, properties, PropertiesChanged,
InterfacesAdded/Removed, and the daemon's error names with its own messages.

Usage: fake_sriovd.py [--calls FILE] [SCENARIO]

SCENARIO is a JSON file; without it two PFs stand in: 0000:01:00.0 (enp1s0, 2 VFs of 8, managed)
and 0000:02:00.0 (no interface, 1 VF of 64 bound to vfio-pci, failed). A scenario names
  "state": the manager's State (default "running"),
  "old_daemon": true for a daemon from before the per-VF settings (VFs without MACAddress/VLANId),
  "pfs": [{"address", "interface", "state", "last_error", "total", "desired", "vfio_bound",
           "num": VFs made up like the defaults, or "vfs": [{"index", "address", "mac", "vlan"}]}].
Every mutating call is appended to the --calls file with the D-Bus signature of each argument, so a
test can check what sriovctl sent. io.sriovd.Test.AddPF/RemovePF simulate hotplug. "READY" goes to
stdout once io.sriovd is owned."""

import argparse
import json
import re

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

MANAGER = "io.sriovd1.Manager"
PF = "io.sriovd1.PhysicalFunction"
VF = "io.sriovd1.VirtualFunction"
PROPS = "org.freedesktop.DBus.Properties"
OM = "org.freedesktop.DBus.ObjectManager"
ERR = "io.sriovd1.Error."

DEFAULT_SCENARIO = {"pfs": [
    {"address": "0000:01:00.0", "interface": "enp1s0", "total": 8, "num": 2, "desired": 2},
    {"address": "0000:02:00.0", "interface": "", "total": 64, "num": 1, "desired": -1, "state": "failed",
     "last_error": "/etc/sriovd/pf.d/20-bad.conf:5: Invalid NumVFs=four", "vfio_bound": True},
]}

LOG = None


def log_call(line):
    if LOG:
        LOG.write(line + "\n")


class Error(dbus.DBusException):
    def __init__(self, name, message):
        super().__init__(message, name=ERR + name)


def path_encode(prefix, s):
    """sd_bus_path_encode(): everything but [A-Za-z0-9] (and a leading digit) as _XX."""
    out = []
    for i, c in enumerate(s):
        if c.isascii() and (c.isalpha() or (c.isdigit() and i > 0)):
            out.append(c)
        else:
            out.append("_%02x" % ord(c))
    return prefix + "/" + "".join(out)


def pci_address_normalize(s):
    """As sriovd's pci_address_normalize(): "01:00.0" and upper case too; None if it is no address."""
    s = s.lower()
    if re.fullmatch(r"[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", s):
        s = "0000:" + s
    m = re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{2}:([0-9a-f]{2})\.[0-7]", s)
    return s if m and int(m.group(1), 16) < 32 else None


def sig_of(v):
    for t, s in ((dbus.Boolean, "b"), (dbus.Byte, "y"), (dbus.Int16, "n"), (dbus.UInt16, "q"),
                 (dbus.Int32, "i"), (dbus.UInt32, "u"), (dbus.Int64, "x"), (dbus.UInt64, "t"),
                 (dbus.ObjectPath, "o"), (dbus.String, "s")):
        if isinstance(v, t):
            return s
    return "?"


class Object(dbus.service.Object):
    interface = None

    def __init__(self, bus, path, props):
        super().__init__(bus, path)
        self.path = path
        self.props = props

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        if interface != self.interface or name not in self.props:
            raise dbus.DBusException("no such property", name="org.freedesktop.DBus.Error.UnknownProperty")
        return self.props[name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != self.interface:
            raise dbus.DBusException("no such interface", name="org.freedesktop.DBus.Error.UnknownInterface")
        return dbus.Dictionary(self.props, signature="sv")

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, interface, changed, invalidated):
        pass

    def update(self, **kw):
        changed = {}
        for k, v in kw.items():
            if self.props.get(k) != v:
                self.props[k] = v
                changed[k] = v
        if changed:
            self.PropertiesChanged(self.interface, dbus.Dictionary(changed, signature="sv"),
                                   dbus.Array([], signature="s"))


class VirtualFunction(Object):
    interface = VF

    def __init__(self, bus, pf, index, address=None, mac=None, vlan=None):
        if address is None:
            address = "%s:%02x.%d" % (pf.props["PciAddress"][:7], 0x10 + index // 8, index % 8)
        super().__init__(bus, "%s/vf/%d" % (pf.path, index), {
            "Index": dbus.UInt32(index),
            "PciAddress": dbus.String(address),
            "Interface": dbus.String("%sv%d" % (pf.props["Interface"], index) if pf.props["Interface"] else ""),
            "Driver": dbus.String("iavf"),
            "MACAddress": dbus.String("02:00:00:00:00:%02x" % index if mac is None else mac),
            "VLANId": dbus.UInt16(vlan or 0),
            "QualityOfService": dbus.UInt32(0),
            "VLANProtocol": dbus.String("802.1Q"),
            "MACSpoofCheck": dbus.Boolean(True),
            "Trust": dbus.Boolean(False),
            "LinkState": dbus.String("auto"),
            "MinTxRate": dbus.UInt32(0),
            "MaxTxRate": dbus.UInt32(0),
            # VF 0 has no netdev MTU (as a VF on vfio-pci), the others the default
            "MTU": dbus.UInt32(0 if index == 0 else 1500),
            "NodeGUID": dbus.String(""),
            "PortGUID": dbus.String(""),
            "IommuGroup": dbus.Int32(40 + index),
            "Lease": dbus.ObjectPath("/"),
            # VF 0 wants what it has as MAC, but a VLAN, trust and an MTU it does not have
            "Policy": dbus.Dictionary({"MACAddress": dbus.String("02:00:00:00:00:00", variant_level=1),
                                       "VLANId": dbus.UInt16(42, variant_level=1),
                                       "Trust": dbus.Boolean(True, variant_level=1),
                                       "MTU": dbus.UInt32(9000, variant_level=1)} if index == 0 else {},
                                      signature="sv"),
            "State": dbus.String("ok"),
            "LastError": dbus.String(""),
        })
        if pf.manager.old_daemon:
            del self.props["MACAddress"]
            del self.props["VLANId"]


class PhysicalFunction(Object):
    interface = PF

    def __init__(self, bus, manager, address, interface="", total=8, num=0, desired=-1, state="enforced",
                 last_error="", vfio_bound=False, vfs=None):
        super().__init__(bus, path_encode("/io/sriovd/pf", address), {
            "PciAddress": dbus.String(address),
            "Interface": dbus.String(interface),
            "Driver": dbus.String("i40e"),
            "VendorId": dbus.UInt16(0x8086),
            "DeviceId": dbus.UInt16(0x1572),
            "Vendor": dbus.String("Intel Corporation"),
            "Model": dbus.String("Ethernet Controller X710 for 10GbE SFP+"),
            "TotalVFs": dbus.UInt32(total),
            "NumVFs": dbus.UInt32(0),
            "DesiredNumVFs": dbus.Int32(desired),
            "DriversAutoprobe": dbus.Boolean(True),
            "VirtualFunctions": dbus.Array([], signature="o"),
            "State": dbus.String(state),
            "LastError": dbus.String(last_error),
            "ConfigSource": dbus.String(""),
        })
        self.manager = manager
        self.vfs = []
        self.vfio_bound = vfio_bound
        if vfs is None:
            self.set_vfs(num, announce=False)
        else:
            self.vfs = [VirtualFunction(bus, self, v["index"], v.get("address"), v.get("mac"), v.get("vlan"))
                        for v in vfs]
            self.props["NumVFs"] = dbus.UInt32(len(self.vfs))
            self.props["VirtualFunctions"] = dbus.Array([dbus.ObjectPath(v.path) for v in self.vfs],
                                                        signature="o")

    def set_vfs(self, n, announce=True):
        while len(self.vfs) > n:
            vf = self.vfs.pop()
            vf.remove_from_connection()
            if announce:
                self.manager.InterfacesRemoved(vf.path, [VF])
        while len(self.vfs) < n:
            vf = VirtualFunction(self.connection, self, len(self.vfs))
            self.vfs.append(vf)
            if announce:
                self.manager.InterfacesAdded(vf.path, {VF: vf.props})
        paths = dbus.Array([dbus.ObjectPath(v.path) for v in self.vfs], signature="o")
        if announce:
            self.update(NumVFs=dbus.UInt32(n), VirtualFunctions=paths)
        else:
            self.props["NumVFs"] = dbus.UInt32(n)
            self.props["VirtualFunctions"] = paths

    @dbus.service.method(PF, in_signature="ut", out_signature="")
    def SetNumVFs(self, count, flags):
        log_call("SetNumVFs %s %d 0x%x" % (self.props["PciAddress"], count, flags))
        if flags & ~0x3:
            raise Error("InvalidArgument", "Unknown flags 0x%x" % flags)
        if count > self.props["TotalVFs"]:
            raise Error("OutOfRange", "%s supports at most %d VFs, %d requested" %
                        (self.props["PciAddress"], self.props["TotalVFs"], count))
        if self.vfio_bound and count < len(self.vfs) and not flags & 0x2:
            raise Error("Busy", "VF %s of %s is bound to vfio-pci; pass the force flag to remove it anyway" %
                        (self.vfs[-1].props["PciAddress"], self.props["PciAddress"]))
        self.update(DesiredNumVFs=dbus.Int32(count), State=dbus.String("converging"))
        self.set_vfs(count)
        self.update(State=dbus.String("enforced"), LastError=dbus.String(""))

    @dbus.service.method(PF, in_signature="uta{sv}", out_signature="")
    def SetNumVFsWithOptions(self, count, flags, options):
        log_call("SetNumVFsWithOptions %s %d 0x%x %s" % (
            self.props["PciAddress"], count, flags,
            " ".join("%s:%s=%s" % (k, sig_of(v), v) for k, v in sorted(options.items()))))
        if flags & ~0x7:
            raise Error("InvalidArgument", "Unknown flags 0x%x" % flags)
        if self.vfio_bound and count != len(self.vfs):
            raise Error("Busy", "Refusing to change NumVFs of %s from %d to %d: leases were not released "
                        "within %d s: VF 0 (%s) leased by vm1 (lease /io/sriovd/lease/1, owner :1.5, uid 0); "
                        "use force to override" % (self.props["PciAddress"], len(self.vfs), count,
                                                   options["WaitUSec"] // 1000000,
                                                   self.vfs[0].props["PciAddress"]))
        self.update(DesiredNumVFs=dbus.Int32(count), State=dbus.String("converging"))
        self.set_vfs(count)
        self.update(State=dbus.String("enforced"), LastError=dbus.String(""))

    @dbus.service.method(PF, in_signature="ua{sv}t", out_signature="")
    def SetVirtualFunctionPolicy(self, index, policy, flags):
        log_call("SetVirtualFunctionPolicy %s %d %s 0x%x" % (
            self.props["PciAddress"], index,
            " ".join("%s:%s=%s" % (k, sig_of(v), v) for k, v in sorted(policy.items())), flags))
        if index >= len(self.vfs):
            raise Error("NoSuchDevice", "%s has no VF %d" % (self.props["PciAddress"], index))
        self.vfs[index].update(Policy=dbus.Dictionary(policy, signature="sv"))


class Manager(Object):
    interface = MANAGER

    def __init__(self, bus, scenario):
        super().__init__(bus, "/io/sriovd", {"Version": dbus.String("0.1"),
                                             "State": dbus.String(scenario.get("state", "running"))})
        self.old_daemon = scenario.get("old_daemon", False)
        self.pfs = []
        for pf in scenario.get("pfs", []):
            self.pfs.append(PhysicalFunction(
                bus, self, pf["address"], pf.get("interface", ""), pf.get("total", 8), pf.get("num", 0),
                pf.get("desired", -1), pf.get("state", "enforced"), pf.get("last_error", ""),
                pf.get("vfio_bound", False), pf.get("vfs")))

    def find(self, device):
        for pf in self.pfs:
            p = pf.props
            if device in (p["PciAddress"], p["PciAddress"][5:]) or (device and device == p["Interface"]):
                return pf
        return None

    @dbus.service.method(MANAGER, in_signature="", out_signature="ao")
    def ListPhysicalFunctions(self):
        return dbus.Array([dbus.ObjectPath(pf.path) for pf in self.pfs], signature="o")

    @dbus.service.method(MANAGER, in_signature="s", out_signature="o")
    def GetPhysicalFunction(self, device):
        pf = self.find(device)
        if pf:
            return dbus.ObjectPath(pf.path)
        address = pci_address_normalize(device)
        if address:
            raise Error("NoSuchDevice", "No SR-IOV capable PCI device %s" % address)
        raise Error("NoSuchDevice", "No SR-IOV capable PCI device with address or interface name '%s'" % device)

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Apply(self):
        log_call("Apply")

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Reload(self):
        log_call("Reload")
        raise Error("ConfigInvalid", "/etc/sriovd/pf.d/20-bad.conf:5: Invalid NumVFs=four")

    @dbus.service.method(OM, in_signature="", out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        out = {}
        for pf in self.pfs:
            out[pf.path] = {PF: pf.props}
            for vf in pf.vfs:
                out[vf.path] = {VF: vf.props}
        return dbus.Dictionary(out, signature="oa{sa{sv}}")

    @dbus.service.signal(OM, signature="oa{sa{sv}}")
    def InterfacesAdded(self, path, interfaces):
        pass

    @dbus.service.signal(OM, signature="oas")
    def InterfacesRemoved(self, path, interfaces):
        pass

    @dbus.service.method("io.sriovd.Test", in_signature="ss", out_signature="")
    def AddPF(self, address, interface):
        pf = PhysicalFunction(self.connection, self, address, interface, 16, 0, -1, state="unmanaged")
        self.pfs.append(pf)
        self.InterfacesAdded(pf.path, {PF: pf.props})

    @dbus.service.method("io.sriovd.Test", in_signature="s", out_signature="")
    def RemovePF(self, address):
        pf = self.find(address)
        for vf in pf.vfs:
            vf.remove_from_connection()
            self.InterfacesRemoved(vf.path, [VF])
        self.pfs.remove(pf)
        pf.remove_from_connection()
        self.InterfacesRemoved(pf.path, [PF])


def main():
    global LOG
    parser = argparse.ArgumentParser(description="A stand-in for sriovd on the system bus.")
    parser.add_argument("--calls", help="append every mutating call to this file")
    parser.add_argument("scenario", nargs="?", help="JSON file with the PFs and VFs to show")
    args = parser.parse_args()

    scenario = DEFAULT_SCENARIO
    if args.scenario:
        with open(args.scenario) as f:
            scenario = json.load(f)
    if args.calls:
        LOG = open(args.calls, "a", buffering=1)

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    Manager(bus, scenario)
    name = dbus.service.BusName("io.sriovd", bus)  # noqa: F841 (kept while serving)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
