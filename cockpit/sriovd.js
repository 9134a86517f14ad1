/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SR-IOV page: sriovd's PFs, VFs and leases through its D-Bus API (docs/dbus-api.md), nothing
 * else. Objects come from the daemon's ObjectManager and stay current from its signals
 * (PropertiesChanged, InterfacesAdded, InterfacesRemoved); changes are the API's methods, authorized
 * by sriovd through polkit. Plain JavaScript on Cockpit's cockpit.js: no build step. */
"use strict";

(function () {
    const BUS_NAME = "io.sriovd";
    const MANAGER_PATH = "/io/sriovd";
    const MANAGER_IF = "io.sriovd1.Manager";
    const PF_IF = "io.sriovd1.PhysicalFunction";
    const VF_IF = "io.sriovd1.VirtualFunction";
    const LEASE_IF = "io.sriovd1.Lease";
    const FLAG_RUNTIME = 0x1;
    const FLAG_FORCE = 0x2;
    const ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied";
    /* Methods that touch the kernel reply when it is done: creating many VFs takes long. */
    const LONG_CALL_MS = 10 * 60 * 1000;

    /* Policy keys against the VF property that shows what the kernel has (docs/dbus-api.md). */
    const ACTUAL_OF = {
        MACAddress: "MACAddress",
        VLANId: "VLANId",
        QualityOfService: "QualityOfService",
        VLANProtocol: "VLANProtocol",
        MACSpoofCheck: "MACSpoofCheck",
        Trust: "Trust",
        LinkState: "LinkState",
        MinTxRate: "MinTxRate",
        MaxTxRate: "MaxTxRate",
        Driver: "Driver",
        MTU: "MTU",
        NodeGUID: "NodeGUID",
        PortGUID: "PortGUID",
    };

    const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
    const manager = client.proxy(MANAGER_IF, MANAGER_PATH);
    const pfs = client.proxies(PF_IF, MANAGER_PATH);
    const vfs = client.proxies(VF_IF, MANAGER_PATH);
    const leases = client.proxies(LEASE_IF, MANAGER_PATH);
    const permission = cockpit.permission({ admin: true });

    const state = {
        owner: undefined,       /* the daemon's unique name, null when it is not on the bus */
        denied: null,           /* the daemon's AccessDenied message, once a call got one */
        doctor: null,           /* { running, error, checks } */
    };

    const $ = id => document.getElementById(id);

    function el(tag, attrs, ...children) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (v === undefined || v === null || v === false)
                continue;
            if (k === "class")
                e.className = v;
            else if (k === "text")
                e.textContent = v;
            else if (k.startsWith("on"))
                e.addEventListener(k.slice(2), v);
            else
                e.setAttribute(k, v === true ? "" : v);
        }
        for (const c of children.flat()) {
            if (c === null || c === undefined || c === false)
                continue;
            e.append(c instanceof Node ? c : document.createTextNode(String(c)));
        }
        return e;
    }

    /* --- who may change things --- */

    function readOnlyReason() {
        if (state.denied)
            return state.denied;
        if (permission.allowed === false)
            return "This session has limited access. Changing SR-IOV is authorized by polkit " +
                   "(action io.sriovd.manage), which needs administrative access: turn it on in " +
                   "Cockpit's top bar.";
        return null;
    }

    function canChange() {
        return state.owner !== null && readOnlyReason() === null;
    }

    /* The message to show for a failed call. `what` names the change ("Setting the number of VFs
     * of ... to 2"). sriovd's own errors are shown as it words them; a refusal by polkit (AccessDenied,
     * whose message names the polkit action) says which change was refused, and makes the page
     * read-only: nothing the page shows changes, since it only ever shows what sriovd reports. */
    function noteError(ex, what) {
        const message = ex && ex.message ? ex.message : String(ex);
        if (ex && ex.name === ACCESS_DENIED) {
            state.denied = "sriovd refused a change. " + what + ": " + message + ". polkit decides who " +
                           "may change SR-IOV (action io.sriovd.manage, or io.sriovd.lease for one's own " +
                           "leases): the page is read-only until it is loaded again.";
            scheduleRender();
            return what + " was refused: " + message + ".";
        }
        return message;
    }

    /* --- the objects --- */

    function sortedPfs() {
        return Object.values(pfs).filter(p => p.valid)
                .sort((a, b) => String(a.PciAddress).localeCompare(String(b.PciAddress)));
    }

    function vfsOf(pf) {
        return (pf.VirtualFunctions || []).map(p => vfs[p]).filter(v => v && v.valid)
                .sort((a, b) => a.Index - b.Index);
    }

    function pfName(pf) {
        return pf.Interface ? pf.Interface + " (" + pf.PciAddress + ")" : pf.PciAddress;
    }

    function variantValue(v) {
        return v && typeof v === "object" && "v" in v ? v.v : v;
    }

    function policyOf(vf) {
        const out = {};
        for (const [k, v] of Object.entries(vf.Policy || {}))
            out[k] = variantValue(v);
        return out;
    }

    /* The keys of a VF's policy the kernel does not show (yet): what is not in force. */
    function keysNotInForce(vf) {
        const out = [];
        for (const [key, want] of Object.entries(policyOf(vf))) {
            const prop = ACTUAL_OF[key];
            if (!prop || !(prop in vf))
                continue;
            if (key === "Driver" && want === "")
                continue;       /* the VF's default driver, whichever it is */
            let have = vf[prop];
            let w = want;
            if (key === "MTU" && have === 0)
                continue;       /* no netdev (vfio-pci): the MTU waits for one, nothing is wrong */
            if ((key === "NodeGUID" || key === "PortGUID") && have === "")
                continue;       /* the kernel does not report GUIDs for this PF */
            if (key === "MACAddress" || key === "NodeGUID" || key === "PortGUID") {
                have = String(have).toLowerCase();
                w = String(w).toLowerCase();
            }
            if (have !== w)
                out.push(key);
        }
        return out;
    }

    function onOff(b) {
        return b ? "on" : "off";
    }

    function rate(r) {
        return r ? r + " Mbit/s" : "—";
    }

    /* A time in µs since the epoch as HH:MM:SS in the browser's time zone, with the date when it is
     * not today. */
    function clockTime(usec) {
        const d = new Date(usec / 1000);
        const pad = n => String(n).padStart(2, "0");
        const time = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
        return d.toDateString() === new Date().toDateString() ? time : d.toLocaleDateString() + " " + time;
    }

    /* A lease whose holder is asked to release it: a change of the count waits for it until the
     * deadline (ReleaseDeadline, from ReleaseRequested; docs/dbus-api.md "Draining leased VFs"). */
    function releaseRequested(lease) {
        if (!lease || !lease.ReleaseDeadline)
            return null;
        return el("span", {
            class: "label label-orange release-requested", "data-deadline": String(lease.ReleaseDeadline),
            title: "A change of the VF count waits for this lease to be released until " +
                   new Date(lease.ReleaseDeadline / 1000).toLocaleString() + "; then it fails.",
        }, "release requested by " + clockTime(lease.ReleaseDeadline));
    }

    /* --- rendering --- */

    function label(text, kind) {
        return el("span", { class: "label label-" + (kind || "grey"), text });
    }

    function stateLabel(s) {
        const kinds = {
            enforced: "green", ok: "green", running: "green",
            converging: "blue", starting: "blue",
            drift: "orange", degraded: "orange",
            failed: "red",
        };
        return label(s || "unknown", kinds[s]);
    }

    function vfRow(pf, vf) {
        const lease = vf.Lease && vf.Lease !== "/" ? leases[vf.Lease] : null;
        const notInForce = keysNotInForce(vf);
        const vlan = vf.VLANId ? vf.VLANId + " / " + vf.QualityOfService +
                     (vf.VLANProtocol && vf.VLANProtocol !== "802.1Q" ? " (" + vf.VLANProtocol + ")" : "") : "—";
        const key = pf.PciAddress + "/" + vf.Index;
        const id = "vf-" + key.replace(/[^0-9a-zA-Z]/g, "-");
        let leaseCell = "free";
        if (lease)
            leaseCell = el("span", {}, lease.Consumer || lease.path.split("/").pop(),
                           lease.Persistent ? el("span", { class: "subtle", text: " (persistent)" }) : null,
                           lease.ReleaseDeadline ? el("div", {}, releaseRequested(lease)) : null);
        else if (vf.Lease && vf.Lease !== "/")
            leaseCell = "leased";
        return el("tr", { id, "data-vf": vf.Index },
            el("td", { "data-label": "VF" }, String(vf.Index)),
            el("td", { "data-label": "Address", class: "mono" }, vf.PciAddress),
            el("td", { "data-label": "Interface" }, vf.Interface || "—"),
            el("td", { "data-label": "Driver", "data-field": "Driver", class: "nowrap" }, vf.Driver || "—"),
            el("td", { "data-label": "MAC", class: "mono" }, vf.MACAddress || "—"),
            el("td", { "data-label": "VLAN / QoS" }, vlan),
            el("td", { "data-label": "Spoof check" }, onOff(vf.MACSpoofCheck)),
            el("td", { "data-label": "Trust" }, onOff(vf.Trust)),
            el("td", { "data-label": "Link state" }, vf.LinkState || "—"),
            el("td", { "data-label": "Rate (min / max)" }, rate(vf.MinTxRate) + " / " + rate(vf.MaxTxRate)),
            el("td", { "data-label": "IOMMU group" }, vf.IommuGroup >= 0 ? String(vf.IommuGroup) : "—"),
            el("td", { "data-label": "Lease", "data-field": "Lease" }, leaseCell),
            el("td", { "data-label": "State", "data-field": "State" }, stateLabel(vf.State),
               vf.LastError ? el("div", { class: "error-text", text: vf.LastError }) : null),
            el("td", { "data-label": "Not in force", "data-field": "NotInForce" },
               notInForce.length ? notInForce.join(", ") : "—"),
            el("td", { class: "actions" },
               el("button", {
                   type: "button", class: "btn btn-secondary btn-sm", "data-key": "policy-" + key,
                   disabled: !canChange(), onclick: () => openPolicy(pf, vf),
                   "aria-label": "Edit the policy of VF " + vf.Index + " of " + pf.PciAddress,
               }, "Edit policy"),
               lease
                   ? el("button", {
                       type: "button", class: "btn btn-secondary btn-sm", "data-key": "release-" + key,
                       disabled: !canChange(), onclick: () => openRelease(lease, pf, vf),
                       "aria-label": "Release the lease of VF " + vf.Index + " of " + pf.PciAddress,
                   }, "Release lease")
                   : null));
    }

    function pfCard(pf) {
        const desired = pf.DesiredNumVFs < 0 ? "not managed" : String(pf.DesiredNumVFs);
        const model = [pf.Vendor, pf.Model].filter(Boolean).join(" ") ||
                      ("[" + hex4(pf.VendorId) + ":" + hex4(pf.DeviceId) + "]");
        const list = vfsOf(pf);
        const headId = "pf-title-" + pf.PciAddress.replace(/[^0-9a-zA-Z]/g, "-");
        const prop = (name, field, value, cls) =>
            el("div", {}, el("dt", {}, name), el("dd", { "data-field": field, class: cls }, value));
        const dl = el("dl", { class: "props" },
            prop("Address", "PciAddress", pf.PciAddress, "mono"),
            prop("Interface", "Interface", pf.Interface || "—"),
            prop("Driver", "Driver", pf.Driver || "—"),
            prop("Model", "Model", model),
            prop("VFs now", "NumVFs", String(pf.NumVFs)),
            prop("VFs desired", "DesiredNumVFs", desired),
            prop("VFs at most", "TotalVFs", String(pf.TotalVFs)),
            prop("State", "State", stateLabel(pf.State)),
            prop("Configured by", "ConfigSource", pf.ConfigSource || "—"));
        return el("section", { class: "card pf", id: "pf-" + pf.PciAddress, "data-pf": pf.PciAddress,
                               "aria-labelledby": headId },
            el("div", { class: "card-header" },
                el("h2", { id: headId }, pfName(pf)),
                el("div", { class: "toolbar" },
                    el("button", {
                        type: "button", class: "btn btn-primary", "data-key": "numvfs-" + pf.PciAddress,
                        disabled: !canChange() || !pf.TotalVFs, onclick: () => openNumVfs(pf),
                        "aria-label": "Set the number of VFs of " + pf.PciAddress,
                    }, "Set VF count"))),
            el("div", { class: "card-body" },
                dl,
                pf.LastError ? el("div", { class: "alert alert-danger", role: "alert", "data-field": "LastError" },
                                  el("strong", {}, "Last error: "), pf.LastError) : null,
                list.length
                    ? el("div", { class: "table-wrap" },
                        el("table", { class: "table", "aria-label": "Virtual functions of " + pf.PciAddress },
                            el("thead", {}, el("tr", {},
                                ["VF", "Address", "Interface", "Driver", "MAC", "VLAN / QoS", "Spoof check",
                                 "Trust", "Link state", "Rate (min / max)", "IOMMU group", "Lease", "State",
                                 "Not in force"].map(h => el("th", { scope: "col" }, h)),
                                el("th", { scope: "col" }, el("span", { class: "sr-only" }, "Actions")))),
                            el("tbody", {}, list.map(vf => vfRow(pf, vf)))))
                    : el("p", { class: "subtle empty" }, "No virtual functions.")));
    }

    function leaseCard() {
        const list = Object.values(leases).filter(l => l.valid)
                .sort((a, b) => (a.CreatedAt || 0) - (b.CreatedAt || 0));
        if (!list.length)
            return null;
        const pfOfVf = {};
        for (const pf of sortedPfs())
            for (const p of pf.VirtualFunctions || [])
                pfOfVf[p] = pf;
        return el("section", { class: "card", id: "leases", "aria-labelledby": "leases-title" },
            el("div", { class: "card-header" }, el("h2", { id: "leases-title" }, "Leases")),
            el("div", { class: "card-body" },
                el("div", { class: "table-wrap" },
                    el("table", { class: "table", "aria-label": "Leases" },
                        el("thead", {}, el("tr", {},
                            ["Consumer", "Virtual function", "Holder", "Since", "Release"].map(h =>
                                el("th", { scope: "col" }, h)),
                            el("th", { scope: "col" }, el("span", { class: "sr-only" }, "Actions")))),
                        el("tbody", {}, list.map(l => {
                            const id = l.path.split("/").pop();
                            const vf = vfs[l.VirtualFunction];
                            const pf = pfOfVf[l.VirtualFunction];
                            const where = vf && pf ? "VF " + vf.Index + " of " + pfName(pf)
                                : "none (the VF was destroyed)";
                            return el("tr", { "data-lease": id },
                                el("td", { "data-label": "Consumer" }, l.Consumer || id),
                                el("td", { "data-label": "Virtual function" }, where),
                                el("td", { "data-label": "Holder" },
                                   l.Persistent ? "persistent" : (l.Owner || "—")),
                                el("td", { "data-label": "Since" },
                                   l.CreatedAt ? new Date(l.CreatedAt / 1000).toLocaleString() : "—"),
                                el("td", { "data-label": "Release", "data-field": "ReleaseDeadline" },
                                   releaseRequested(l) || "—"),
                                el("td", { class: "actions" },
                                   el("button", {
                                       type: "button", class: "btn btn-secondary btn-sm",
                                       "data-key": "release-lease-" + id, disabled: !canChange(),
                                       onclick: () => openRelease(l, pf, vf),
                                       "aria-label": "Release the lease of " + (l.Consumer || id),
                                   }, "Release")));
                        }))))));
    }

    function hex4(n) {
        return ("0000" + Number(n || 0).toString(16)).slice(-4);
    }

    function renderStatus() {
        const s = $("daemon-status");
        if (state.owner === null) {
            s.textContent = "sriovd is not running: io.sriovd is not on the system bus.";
            return;
        }
        if (!manager.valid) {
            s.textContent = "Connecting to sriovd…";
            return;
        }
        s.replaceChildren("sriovd " + manager.Version + " · ", stateLabel(manager.State));
    }

    function renderNotices() {
        const n = $("notices");
        const reason = readOnlyReason();
        n.replaceChildren(reason
            ? el("div", { class: "alert alert-info", id: "read-only", role: "status" },
                el("strong", {}, "Read only. "), reason)
            : "");
    }

    function renderDoctor() {
        const d = state.doctor;
        const section = $("doctor");
        section.hidden = !d;
        $("doctor-run").disabled = !!(d && d.running);
        if (!d)
            return;
        const body = $("doctor-body");
        if (d.running) {
            body.replaceChildren(el("p", { role: "status" }, "Running the checks…"));
            return;
        }
        if (d.error) {
            body.replaceChildren(el("div", { class: "alert alert-danger", role: "alert" },
                                    "The checks could not run: " + d.error));
            return;
        }
        const bad = d.checks.filter(c => c.status === "fail" || c.status === "warn");
        const good = d.checks.filter(c => !bad.includes(c));
        const counts = {};
        for (const c of d.checks)
            counts[c.status] = (counts[c.status] || 0) + 1;
        body.replaceChildren(...[
            el("p", { role: "status", id: "doctor-summary" },
               Object.entries(counts).map(([k, v]) => v + " " + k).join(", ")),
            bad.length
                ? el("ul", { class: "findings", id: "doctor-findings" }, bad.map(c =>
                    el("li", { class: "finding finding-" + c.status, "data-check": c.check },
                        el("div", {}, label(c.status, c.status === "fail" ? "red" : "orange"), " ",
                           el("strong", {}, c.check), c.device ? " " + c.device : "", ": ",
                           el("span", { class: "summary" }, c.summary)),
                        c.fix ? el("div", { class: "fix" }, el("strong", {}, "Fix: "),
                                   el("span", { class: "fix-text" }, c.fix)) : null)))
                : el("p", {}, "Nothing is wrong."),
            good.length
                ? el("details", {},
                    el("summary", {}, "Passed and informational checks (" + good.length + ")"),
                    el("ul", { class: "findings" }, good.map(c =>
                        el("li", {}, label(c.status, c.status === "ok" ? "green" : "grey"), " ",
                           el("strong", {}, c.check), c.device ? " " + c.device : "", ": ", c.summary))))
                : null,
        ].filter(Boolean));
    }

    function render() {
        /* Keep keyboard focus on the same control across a re-render. */
        const focused = document.activeElement && document.activeElement.getAttribute("data-key");
        renderStatus();
        renderNotices();
        renderDoctor();
        const list = sortedPfs();
        const root = $("pfs");
        if (state.owner === null)
            root.replaceChildren(el("div", { class: "card", id: "not-running" }, el("div", { class: "card-body empty" },
                "sriovd does not answer on the system bus. Start it with ",
                el("code", {}, "systemctl start sriovd.service"),
                "; this page shows its devices as soon as it is back.")));
        else if (!list.length && manager.valid)
            root.replaceChildren(el("div", { class: "card" }, el("div", { class: "card-body empty" },
                "sriovd sees no PCI device with SR-IOV.")));
        else
            root.replaceChildren(...list.map(pfCard), leaseCard() || "");
        if (focused) {
            const again = document.querySelector('[data-key="' + CSS.escape(focused) + '"]');
            if (again)
                again.focus();
        }
        $("page").setAttribute("aria-busy", manager.valid || state.owner === null ? "false" : "true");
    }

    let scheduled = false;
    function scheduleRender() {
        if (scheduled)
            return;
        scheduled = true;
        window.requestAnimationFrame(() => {
            scheduled = false;
            render();
        });
    }

    /* --- dialogs --- */

    function setupDialog(dialog) {
        for (const b of dialog.querySelectorAll("[data-close]"))
            b.addEventListener("click", () => dialog.close());
    }

    function showError(id, message) {
        const e = $(id);
        e.textContent = message || "";
        e.hidden = !message;
    }

    function busy(dialog, on) {
        for (const b of dialog.querySelectorAll("button, input, select"))
            b.disabled = on;
    }

    let numvfsTarget = null;

    function openNumVfs(pf) {
        numvfsTarget = pf;
        const d = $("numvfs-dialog");
        $("numvfs-pf").textContent = pfName(pf);
        const count = $("numvfs-count");
        count.max = pf.TotalVFs;
        count.value = pf.DesiredNumVFs >= 0 ? pf.DesiredNumVFs : pf.NumVFs;
        $("numvfs-help").textContent = "0 to " + pf.TotalVFs + ". The kernel has " + pf.NumVFs + " now.";
        $("numvfs-runtime").checked = false;
        $("numvfs-force").hidden = true;
        showError("numvfs-error", null);
        busy(d, false);
        d.showModal();
        count.focus();
        count.select();
    }

    function numvfsCount() {
        const v = $("numvfs-count").value.trim();
        if (!/^[0-9]+$/.test(v))
            return null;
        return parseInt(v, 10);
    }

    function setNumVfs(force) {
        const d = $("numvfs-dialog");
        const pf = numvfsTarget;
        const count = numvfsCount();
        if (count === null) {
            showError("numvfs-error", "Enter a whole number from 0 to " + pf.TotalVFs + ".");
            $("numvfs-count").focus();
            return;
        }
        const flags = ($("numvfs-runtime").checked ? FLAG_RUNTIME : 0) | (force ? FLAG_FORCE : 0);
        showError("numvfs-error", null);
        busy(d, true);
        client.call(pf.path, PF_IF, "SetNumVFs", [count, flags], { timeout: LONG_CALL_MS })
                .then(() => {
                    busy(d, false);
                    d.close();
                })
                .catch(ex => {
                    busy(d, false);
                    showError("numvfs-error", noteError(ex, "Setting the number of VFs of " + pfName(pf) +
                                                        " to " + count + (force ? " (forced)" : "")));
                    /* Busy names the leased or vfio-bound VFs; forcing is the admin's choice. */
                    $("numvfs-force").hidden = !(ex && ex.name === "io.sriovd1.Error.Busy");
                    $("numvfs-error").dataset.error = ex && ex.name ? ex.name : "";
                    $("numvfs-count").focus();
                });
    }

    function openForce() {
        $("force-text").textContent = "sriovd refused: " + $("numvfs-error").textContent;
        $("force-dialog").showModal();
        $("force-confirm").focus();
    }

    let policyTarget = null;
    let policyPf = null;
    let policyInitial = {};

    function policyFields() {
        return Array.from($("policy-form").querySelectorAll("[data-key]"));
    }

    function openPolicy(pf, vf) {
        policyTarget = vf;
        policyPf = pf;
        const policy = policyOf(vf);
        $("policy-title").textContent = "Policy of VF " + vf.Index + " of " + pfName(pf);
        policyInitial = {};
        for (const f of policyFields()) {
            const v = policy[f.dataset.key];
            f.value = v === undefined ? "" : String(v);
            policyInitial[f.dataset.key] = f.value;
        }
        $("policy-runtime").checked = false;
        showError("policy-error", null);
        const d = $("policy-dialog");
        busy(d, false);
        d.showModal();
        $("policy-MACAddress").focus();
    }

    /* The changed fields as an a{sv} dictionary for SetPolicy, or a string saying what is wrong. */
    function policyChanges() {
        const out = {};
        for (const f of policyFields()) {
            const key = f.dataset.key;
            const value = f.value.trim();
            if (value === policyInitial[key])
                continue;
            const labelText = document.querySelector('label[for="' + f.id + '"]').textContent;
            if (value === "" && key !== "Driver")
                return labelText + ": a key cannot be removed from the policy (Forget on the PF drops " +
                       "what the API set).";
            switch (f.dataset.type) {
            case "s":
                out[key] = { t: "s", v: value };
                break;
            case "b":
                out[key] = { t: "b", v: value === "true" };
                break;
            default:
                if (!/^[0-9]+$/.test(value))
                    return labelText + ": enter a whole number.";
                out[key] = { t: f.dataset.type, v: parseInt(value, 10) };
            }
        }
        return out;
    }

    function setPolicy() {
        const d = $("policy-dialog");
        const changes = policyChanges();
        if (typeof changes === "string") {
            showError("policy-error", changes);
            return;
        }
        if (!Object.keys(changes).length) {
            d.close();
            return;
        }
        const flags = $("policy-runtime").checked ? FLAG_RUNTIME : 0;
        const target = "VF " + policyTarget.Index + " of " + pfName(policyPf);
        showError("policy-error", null);
        busy(d, true);
        client.call(policyTarget.path, VF_IF, "SetPolicy", [changes, flags], { timeout: LONG_CALL_MS })
                .then(() => {
                    busy(d, false);
                    d.close();
                })
                .catch(ex => {
                    busy(d, false);
                    showError("policy-error", noteError(ex, "Changing " + Object.keys(changes).join(", ") +
                                                        " in the policy of " + target));
                });
    }

    let releaseTarget = null;

    function openRelease(lease, pf, vf) {
        releaseTarget = lease;
        $("release-text").textContent = "The lease of " + (lease.Consumer || "an unnamed consumer") +
            (vf && pf ? " on VF " + vf.Index + " of " + pfName(pf) + " ends and the VF gets back its " +
                        "settings from before the lease."
                      : " ends; its VF was destroyed.");
        showError("release-error", null);
        const d = $("release-dialog");
        busy(d, false);
        d.showModal();
        $("release-confirm").focus();
    }

    function release() {
        const d = $("release-dialog");
        busy(d, true);
        client.call(releaseTarget.path, LEASE_IF, "Release", [], { timeout: LONG_CALL_MS })
                .then(() => {
                    busy(d, false);
                    d.close();
                })
                .catch(ex => {
                    busy(d, false);
                    showError("release-error", noteError(ex, "Releasing the lease of " +
                                                         (releaseTarget.Consumer || "an unnamed consumer")));
                });
    }

    /* --- doctor --- */

    /* The checks are the host's (IOMMU, kernel command line, vfio-pci, other SR-IOV tools):
     * sriovd runs them in its diagnostics helper for RunDiagnostics() and replies with one
     * (check, device, status, summary, fix) record per check, "" for no device or no fix. */
    function runDoctor() {
        state.doctor = { running: true };
        renderDoctor();
        client.call(MANAGER_PATH, MANAGER_IF, "RunDiagnostics", [], { timeout: 60000 })
            .then(([records]) => {
                state.doctor = {
                    checks: records.map(([check, device, status, summary, fix]) => ({
                        check, device: device || null, status, summary, fix: fix || null,
                    })),
                };
                renderDoctor();
            }, ex => {
                state.doctor = { error: ex && ex.message ? ex.message : String(ex) };
                renderDoctor();
            });
    }

    /* --- wiring --- */

    function init() {
        for (const d of document.querySelectorAll("dialog"))
            setupDialog(d);
        $("numvfs-form").addEventListener("submit", ev => {
            ev.preventDefault();
            setNumVfs(false);
        });
        $("numvfs-force").addEventListener("click", openForce);
        $("force-form").addEventListener("submit", ev => {
            ev.preventDefault();
            $("force-dialog").close();
            setNumVfs(true);
        });
        $("policy-form").addEventListener("submit", ev => {
            ev.preventDefault();
            setPolicy();
        });
        $("release-form").addEventListener("submit", ev => {
            ev.preventDefault();
            release();
        });
        $("doctor-run").addEventListener("click", runDoctor);
        $("doctor-close").addEventListener("click", () => {
            state.doctor = null;
            renderDoctor();
            $("doctor-run").focus();
        });

        for (const set of [pfs, vfs, leases]) {
            set.addEventListener("added", scheduleRender);
            set.addEventListener("changed", scheduleRender);
            set.addEventListener("removed", scheduleRender);
        }
        manager.addEventListener("changed", scheduleRender);
        permission.addEventListener("changed", scheduleRender);
        client.addEventListener("owner", (ev, owner) => {
            state.owner = owner;
            scheduleRender();
        });
        manager.wait(scheduleRender);
        render();
    }

    if (document.readyState === "loading")
        document.addEventListener("DOMContentLoaded", init);
    else
        init();
}());
