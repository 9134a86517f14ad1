// SPDX-License-Identifier: LGPL-2.1-or-later
// The Cockpit page in headless Chromium (puppeteer-core over the DevTools protocol), against cockpit-ws
// on the mock tier's bus with sriovd on the fake kernel. Run by run.py, which builds that world and
// passes it in the environment: URL_ADMIN, URL_LIMITED, URL_DELEGATED (uid 65534 with a superuser bridge
// that is not root: see run.py), SYSFS (the fake kernel's /sys), SRIOVCTL, DBUS_SYSTEM_BUS_ADDRESS (with
// python-dbusmock's polkitd on it), LEASE (a persistent lease on PF1 for "vm-web"), PF1, PF2, SCREENSHOTS,
// MODULES.
// What the page shows is compared with what the bus and the fake kernel say, read here independently.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const require = createRequire(path.join(process.env.MODULES, "/"));
const puppeteer = require("puppeteer-core");

const { PF1, PF2, SYSFS, SRIOVCTL, SCREENSHOTS, LEASE } = process.env;
const MGR = "/io/sriovd";
const PF_IF = "io.sriovd1.PhysicalFunction";
const VF_IF = "io.sriovd1.VirtualFunction";
const LEASE_IF = "io.sriovd1.Lease";
const NOBODY = 65534;
const POLKIT = ["org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.DBus.Mock"];

let browser;
let page;

// --- the bus and the fake kernel, read without the page ---

function busctl(...args) {
    return execFileSync("busctl", ["--system", "--json=short", ...args], { encoding: "utf8" });
}

function call(path_, iface, method, sig, ...args) {
    const out = busctl("--timeout=120", "call", "io.sriovd", path_, iface, method, ...(sig ? [sig, ...args.map(String)] : []));
    return out.trim() ? JSON.parse(out).data : null;
}

// A call that must fail: [error name, message] as busctl reports them.
function callError(path_, iface, method, sig, ...args) {
    const r = spawnSync("busctl", ["--system", "--timeout=120", "call", "io.sriovd", path_, iface, method, sig,
                                   ...args.map(String)], { encoding: "utf8" });
    assert.notEqual(r.status, 0, `${method} succeeded`);
    const m = /^Call failed: (.*)$/m.exec(r.stderr);
    assert.ok(m, r.stderr);
    return m[1];
}

function prop(path_, iface, name) {
    return JSON.parse(busctl("get-property", "io.sriovd", path_, iface, name)).data;
}

function pfPath(pf) {
    return call(MGR, "io.sriovd1.Manager", "GetPhysicalFunction", "s", pf)[0];
}

function pfProp(pf, name) {
    return prop(pfPath(pf), PF_IF, name);
}

function vfPaths(pf) {
    return pfProp(pf, "VirtualFunctions");
}

function kernelNumVfs(pf) {
    return parseInt(fs.readFileSync(path.join(SYSFS, "devices/pci0000:00", pf, "sriov_numvfs"), "utf8"), 10);
}

function kernelDriver(vfAddr) {
    return path.basename(fs.readlinkSync(path.join(SYSFS, "devices/pci0000:00", vfAddr, "driver")));
}

function sriovctl(...args) {
    return execFileSync(SRIOVCTL, args.map(String), { encoding: "utf8" });
}

// sriovctl in the background: resolves to its exit status.
function sriovctlAsync(...args) {
    const child = spawn(SRIOVCTL, args.map(String), { stdio: ["ignore", "inherit", "inherit"] });
    return new Promise(resolve => child.on("exit", code => resolve(code)));
}

// The actions the mock polkitd allows from now on (none: it refuses every check).
function polkitAllow(...actions) {
    busctl("call", ...POLKIT, "SetAllowed", "as", String(actions.length), ...actions);
}

// The action of every CheckAuthorization the mock polkitd got so far.
function polkitChecks() {
    return JSON.parse(busctl("call", ...POLKIT, "GetMethodCalls", "s", "CheckAuthorization")).data[0]
            .map(([, args]) => args[1].data);
}

// A call as uid 65534 that must fail: [error name, message] as dbus-send prints them.
function callErrorAsNobody(path_, iface, method, ...args) {
    const r = spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "dbus-send", "--system",
                                    "--print-reply", "--dest=io.sriovd", path_, iface + "." + method, ...args],
                        { encoding: "utf8" });
    assert.notEqual(r.status, 0, `${method} succeeded`);
    const m = /^Error (\S+): (.*)$/m.exec(r.stderr);
    assert.ok(m, r.stderr);
    return [m[1], m[2]];
}

// HH:MM:SS of a time in µs since the epoch, in this time zone (the browser's).
function clock(usec) {
    const d = new Date(usec / 1000);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map(n => String(n).padStart(2, "0")).join(":");
}

// Asks run.py for what only it can do: hotplug in the fake kernel, stopping and starting sriovd.
function control(command) {
    return new Promise((resolve, reject) => {
        let reply = "";
        const c = net.createConnection(process.env.CONTROL, () => c.write(command + "\n"));
        c.on("data", d => {
            reply += d;
        });
        c.on("error", reject);
        c.on("end", () => (reply.trim() === "ok" ? resolve() : reject(new Error(`${command}: ${reply}`))));
    });
}

// --- the page ---

// Every screenshot is also a check that nothing on the page reads "undefined", "null" or "NaN".
async function shot(name, p = page) {
    const body = await p.evaluate(() => document.body.innerText);
    assert.doesNotMatch(body, /\b(undefined|null|NaN)\b/, `${name}: a value is missing on the page`);
    await p.screenshot({ path: path.join(SCREENSHOTS, name + ".png"), fullPage: true });
}

async function open(url) {
    const p = await browser.newPage();
    p.on("pageerror", e => console.log("page error:", e.message));
    p.on("console", m => {
        if (m.type() === "error")
            console.log("page console:", m.text());
    });
    await p.goto(url, { waitUntil: "load" });
    await p.waitForSelector(`section[data-pf="${PF1}"]`, { timeout: 15000 });
    return p;
}

const field = (pf, name) => `section[data-pf="${pf}"] dd[data-field="${name}"]`;
const vfRow = (pf, index) => `section[data-pf="${pf}"] tr[data-vf="${index}"]`;

async function text(sel, p = page) {
    return p.$eval(sel, e => e.textContent.trim());
}

async function waitText(sel, want, timeout = 10000, p = page) {
    await p.waitForFunction((s, w) => {
        const e = document.querySelector(s);
        return e && e.textContent.trim() === w;
    }, { timeout, polling: "mutation" }, sel, want);
}

async function rowCount(pf, p = page) {
    return p.$$eval(`section[data-pf="${pf}"] tbody tr`, rows => rows.length);
}

async function dialogOpen(id) {
    return page.$eval("#" + id, d => d.open);
}

async function waitDialogClosed(id, timeout = 30000) {
    await page.waitForFunction(i => !document.getElementById(i).open, { timeout }, id);
}

// Types into a field from the keyboard, replacing what it holds.
async function typeInto(sel, value, p = page) {
    await p.focus(sel);
    await p.$eval(sel, e => e.select ? e.select() : null);
    await p.keyboard.press("Backspace");
    await p.keyboard.type(String(value));
}

before(async () => {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sriovd-chromium."));
    browser = await puppeteer.launch({
        executablePath: process.env.CHROMIUM,
        headless: true,
        userDataDir: profile,
        // No network but loopback here: nothing in the background may try to go out.
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"],
        defaultViewport: { width: 1400, height: 900 },
    });
    page = await open(process.env.URL_ADMIN);
});

after(async () => {
    if (browser)
        await browser.close();
});

test("the page lists the PFs with what sriovd says about them", async () => {
    for (const pf of [PF1, PF2]) {
        for (const name of ["PciAddress", "Interface", "Driver", "NumVFs", "TotalVFs"])
            assert.equal(await text(field(pf, name)), String(pfProp(pf, name)), `${pf} ${name}`);
        assert.equal(await text(field(pf, "State")), pfProp(pf, "State"), `${pf} State`);
        assert.ok((await text(field(pf, "Model"))).includes(pfProp(pf, "Model")), `${pf} Model`);
    }
    assert.equal(await text(field(PF1, "DesiredNumVFs")), "3");
    assert.equal(await text(field(PF2, "DesiredNumVFs")), "not managed");

    // PF1's VFs, one row each, and the lease with its consumer
    const vfs = vfPaths(PF1);
    assert.equal(vfs.length, 3);
    assert.equal(await rowCount(PF1), 3);
    const leasedVf = prop(LEASE, "io.sriovd1.Lease", "VirtualFunction");
    for (const v of vfs) {
        const index = prop(v, VF_IF, "Index");
        const cells = await page.$$eval(vfRow(PF1, index) + " td", tds => tds.map(t => t.textContent.trim()));
        assert.equal(cells[1], prop(v, VF_IF, "PciAddress"));
        assert.equal(cells[2], prop(v, VF_IF, "Interface"));
        assert.equal(cells[3], prop(v, VF_IF, "Driver"));
        assert.equal(cells[10], String(prop(v, VF_IF, "IommuGroup")));
        assert.equal(cells[11], v === leasedVf ? "vm-web (persistent)" : "free");
        assert.equal(cells[12], prop(v, VF_IF, "State"));
    }
    assert.equal(await text("#leases tbody tr td"), "vm-web");
    assert.equal(await page.$("#read-only"), null, "an administrator's page is not read-only");
    await shot("overview");
});

test("a count set with sriovctl appears in the page within a second", async () => {
    assert.equal(await text(field(PF2, "NumVFs")), "0");
    sriovctl("set-numvfs", PF2, 2, "--runtime");
    const start = Date.now();
    await waitText(field(PF2, "NumVFs"), "2", 1000);
    await page.waitForFunction(pf => document.querySelectorAll(`section[data-pf="${pf}"] tbody tr`).length === 2,
                               { timeout: Math.max(1, 1000 - (Date.now() - start)) }, PF2);
    const took = Date.now() - start;
    assert.ok(took < 1000, `took ${took} ms`);
    assert.equal(await text(field(PF2, "DesiredNumVFs")), "2");
    console.log(`sriovctl's change shown after ${took} ms`);
});

test("setting a count from the page changes the fake kernel's count", async () => {
    // keyboard only: the button, the field, Enter submits
    await page.focus(`button[data-key="numvfs-${PF2}"]`);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.getElementById("numvfs-dialog").open);
    assert.equal(await page.evaluate(() => document.activeElement.id), "numvfs-count");
    await typeInto("#numvfs-count", 4);
    await page.keyboard.press("Enter");
    await waitDialogClosed("numvfs-dialog");
    assert.equal(kernelNumVfs(PF2), 4);
    assert.equal(pfProp(PF2, "DesiredNumVFs"), 4);
    assert.equal(pfProp(PF2, "ConfigSource"), "api");
    // persisted, not runtime: the state directory holds it
    assert.match(fs.readFileSync(path.join(process.env.STATE_DIR, "pf", PF2 + ".conf"), "utf8"), /^NumVFs=4$/m);
    await waitText(field(PF2, "NumVFs"), "4");
    assert.equal(await rowCount(PF2), 4);
    await shot("counts");     // the README's picture (docs/cockpit.png)
});

test("a refused change shows the daemon's message; force asks first", async () => {
    // what sriovd answers to this change, asked on the bus directly (a refused call changes nothing)
    const message = callError(pfPath(PF1), PF_IF, "SetNumVFs", "ut", 1, 1);
    assert.match(message, /vm-web/);
    assert.equal(kernelNumVfs(PF1), 3);

    await page.click(`button[data-key="numvfs-${PF1}"]`);
    await typeInto("#numvfs-count", 1);
    await page.click("#numvfs-runtime");
    await page.click("#numvfs-apply");
    await page.waitForSelector("#numvfs-error:not([hidden])");
    assert.equal(await text("#numvfs-error"), message);
    assert.ok(await dialogOpen("numvfs-dialog"));
    assert.equal(kernelNumVfs(PF1), 3, "a refused change changed the kernel's count");
    assert.equal(pfProp(PF1, "DesiredNumVFs"), 3);
    await shot("refused");

    // Force, then Cancel in the confirmation: nothing happens
    await page.click("#numvfs-force");
    await page.waitForFunction(() => document.getElementById("force-dialog").open);
    assert.ok((await text("#force-text")).includes(message));
    await page.click("#force-dialog [data-close]");
    assert.equal(await dialogOpen("force-dialog"), false);
    assert.equal(kernelNumVfs(PF1), 3);

    // Force, confirmed
    await page.click("#numvfs-force");
    await page.waitForFunction(() => document.getElementById("force-dialog").open);
    await shot("force-confirmation");
    await page.click("#force-confirm");
    await waitDialogClosed("numvfs-dialog");
    assert.equal(kernelNumVfs(PF1), 1);
    await waitText(field(PF1, "NumVFs"), "1");
    // the lease stays, without its VF, until released
    assert.equal(prop(LEASE, "io.sriovd1.Lease", "VirtualFunction"), "/");
    await page.waitForFunction(() => document.querySelector("#leases tbody tr td:nth-child(2)")
            ?.textContent.includes("destroyed"));
});

test("a lease is released from the page", async () => {
    const before_ = call(MGR, "io.sriovd1.Manager", "ListLeases")[0];
    assert.deepEqual(before_, [LEASE]);
    const id = LEASE.split("/").pop();
    await page.click(`button[data-key="release-lease-${id}"]`);
    await page.waitForFunction(() => document.getElementById("release-dialog").open);
    assert.match(await text("#release-text"), /vm-web/);
    await page.click("#release-confirm");
    await waitDialogClosed("release-dialog");
    assert.deepEqual(call(MGR, "io.sriovd1.Manager", "ListLeases")[0], []);
    await page.waitForFunction(() => !document.getElementById("leases"));
});

test("a lease whose release is requested says by when, live, until the change ends", async () => {
    // PF1 has one VF (forced above), leased now to a holder that never releases it on its own
    const lease = JSON.parse(sriovctl("--json", "request", PF1, "--persistent", "--consumer", "vm-drain")).Lease;
    const id = lease.split("/").pop();
    const index = prop(prop(lease, LEASE_IF, "VirtualFunction"), VF_IF, "Index");
    const row = `#leases tr[data-lease="${id}"]`;
    const release = row + ' td[data-field="ReleaseDeadline"]';
    const onVf = vfRow(PF1, index) + ' td[data-field="Lease"] .release-requested';
    await page.waitForSelector(row);
    assert.equal(prop(lease, LEASE_IF, "ReleaseDeadline"), 0);
    assert.equal(await text(release), "—");
    assert.equal(await page.$(onVf), null);

    // An admin's change of the count asks the holder to release, and waits 3 s for it
    const failed = sriovctlAsync("set-numvfs", PF1, 3, "--wait", 3, "--runtime");
    await page.waitForSelector(row + " .release-requested", { timeout: 2500 });
    const deadline = prop(lease, LEASE_IF, "ReleaseDeadline");
    assert.ok(deadline > Date.now() * 1000, `ReleaseDeadline ${deadline}`);
    assert.equal(await page.$eval(row + " .release-requested", e => e.dataset.deadline), String(deadline));
    assert.equal(await text(release), "release requested by " + clock(deadline));
    assert.equal(await text(onVf), "release requested by " + clock(deadline));
    await shot("release-requested");

    // nobody releases: at the deadline the change fails and the request ends (ReleaseDeadline 0)
    assert.equal(await failed, 1, "set-numvfs --wait succeeded with the lease held");
    assert.equal(kernelNumVfs(PF1), 1);
    assert.equal(prop(lease, LEASE_IF, "ReleaseDeadline"), 0);
    await waitText(release, "—", 2000);
    assert.equal(await page.$(onVf), null);

    // Asked again, the admin releases the lease from the page: the waiting change is applied
    const applied = sriovctlAsync("set-numvfs", PF1, 3, "--wait", 60, "--runtime");
    await page.waitForSelector(row + " .release-requested", { timeout: 5000 });
    await page.click(`button[data-key="release-lease-${id}"]`);
    await page.waitForFunction(() => document.getElementById("release-dialog").open);
    await page.click("#release-confirm");
    await waitDialogClosed("release-dialog");
    assert.equal(await applied, 0, "set-numvfs --wait failed after the release");
    assert.equal(kernelNumVfs(PF1), 3);
    await waitText(field(PF1, "NumVFs"), "3");
    await page.waitForFunction(() => !document.getElementById("leases"));
});

test("a VF policy edit is read back", async () => {
    const vf = vfPaths(PF2)[1];
    const addr = prop(vf, VF_IF, "PciAddress");
    assert.equal(kernelDriver(addr), "igbvf");

    await page.click(`button[data-key="policy-${PF2}/1"]`);
    await page.waitForFunction(() => document.getElementById("policy-dialog").open);
    await typeInto("#policy-Driver", "vfio-pci");
    await page.click("#policy-apply");
    await waitDialogClosed("policy-dialog");
    assert.deepEqual(prop(vf, VF_IF, "Policy"), { Driver: { type: "s", data: "vfio-pci" } });
    assert.equal(prop(vf, VF_IF, "Driver"), "vfio-pci");
    assert.equal(kernelDriver(addr), "vfio-pci");
    await waitText(vfRow(PF2, 1) + ' td[data-field="Driver"]', "vfio-pci");
    assert.equal(await text(vfRow(PF2, 1) + ' td[data-field="NotInForce"]'), "—");

    // The dialog shows the policy back; a MAC address needs rtnetlink, which the fake kernel has not:
    // the daemon's refusal is shown, the key stays in the policy and is listed as not in force.
    await page.click(`button[data-key="policy-${PF2}/1"]`);
    await page.waitForFunction(() => document.getElementById("policy-dialog").open);
    assert.equal(await page.$eval("#policy-Driver", e => e.value), "vfio-pci");
    await typeInto("#policy-MACAddress", "02:00:00:00:00:42");
    await page.click("#policy-apply");
    await page.waitForSelector("#policy-error:not([hidden])", { timeout: 30000 });
    const error = await text("#policy-error");
    const lastError = prop(vf, VF_IF, "LastError");
    assert.ok(lastError.length > 0 && error.includes("VF 1"), `${error} / ${lastError}`);
    await page.click("#policy-dialog [data-close]");
    assert.equal(prop(vf, VF_IF, "Policy").MACAddress.data, "02:00:00:00:00:42");
    await waitText(vfRow(PF2, 1) + ' td[data-field="NotInForce"]', "MACAddress");
    await waitText(vfRow(PF2, 1) + ' td[data-field="State"] .label', "failed");
    assert.ok((await text(vfRow(PF2, 1) + ' td[data-field="State"] .error-text')).includes(lastError));
    await shot("policy");
});

test("the doctor's failures are shown with their fixes", async () => {
    // what sriovd's RunDiagnostics() returns here: (check, device, status, summary, fix) records
    const checks = call(MGR, "io.sriovd1.Manager", "RunDiagnostics")[0].map(
        ([check, device, status, summary, fix]) => ({ check, device, status, summary, fix: fix || null }));
    assert.ok(checks.length > 0);
    const bad = checks.filter(c => c.status === "fail" || c.status === "warn");
    const counts = {};
    for (const c of checks)
        counts[c.status] = (counts[c.status] || 0) + 1;

    await page.click("#doctor-run");
    await page.waitForSelector("#doctor-summary", { timeout: 60000 });
    const shown = await page.$$eval("#doctor-findings li", lis => lis.map(li => ({
        check: li.dataset.check,
        summary: li.querySelector(".summary").textContent,
        fix: li.querySelector(".fix-text")?.textContent ?? null,
    })));
    assert.equal(shown.length, bad.length, JSON.stringify(shown));
    for (const c of bad)
        assert.ok(shown.some(s => s.check === c.check && s.summary === c.summary && s.fix === c.fix),
                  `${c.check}: ${c.summary} not shown with its fix`);
    if (!bad.length)
        assert.match(await text("#doctor-body"), /Nothing is wrong/);
    assert.equal(await text("#doctor-summary"),
                 Object.entries(counts).map(([k, v]) => v + " " + k).join(", "));
    await shot("doctor");
    await page.click("#doctor-close");
    assert.equal(await page.$eval("#doctor", e => e.hidden), true);
});

test("a PF hot-added and hot-removed appears and goes without a reload", async () => {
    const pf = "0000:03:00.0";
    await control(`add-pf ${pf} sriovweb3`);
    await page.waitForSelector(`section[data-pf="${pf}"]`, { timeout: 5000 });
    // the object comes first, its properties as sriovd reads them (PropertiesChanged)
    await waitText(field(pf, "Interface"), "sriovweb3", 5000);
    await waitText(field(pf, "State"), "unmanaged", 5000);   // no file names it
    assert.equal(pfProp(pf, "State"), "unmanaged");
    await control(`remove-pf ${pf}`);
    await page.waitForFunction(p => !document.querySelector(`section[data-pf="${p}"]`), { timeout: 5000 }, pf);
});

test("the page says when sriovd is not running, and shows it again when it is back", async () => {
    await control("stop-daemon");
    await waitText("#daemon-status", "sriovd is not running: io.sriovd is not on the system bus.", 5000);
    assert.equal(await page.$$eval("#pfs section.pf", s => s.length), 0);
    assert.match(await text("#not-running"), /systemctl start sriovd\.service/);
    await shot("not-running");
    await control("start-daemon");
    await page.waitForSelector(`section[data-pf="${PF2}"]`, { timeout: 10000 });
    await page.waitForFunction(() => /running|degraded/.test(document.getElementById("daemon-status").textContent),
                               { timeout: 10000 });
    // what the API persisted is back, from the new daemon's objects
    await waitText(field(PF2, "DesiredNumVFs"), String(pfProp(PF2, "DesiredNumVFs")));
    await waitText(field(PF2, "NumVFs"), String(pfProp(PF2, "NumVFs")));
    assert.equal(await rowCount(PF2), vfPaths(PF2).length);
    // and a change made now is shown live again
    sriovctl("set-numvfs", PF1, 2, "--runtime");
    await waitText(field(PF1, "NumVFs"), "2", 2000);
});

test("without administrative access the page is read-only and says why", async () => {
    const limited = await open(process.env.URL_LIMITED);
    try {
        await limited.waitForSelector("#read-only", { timeout: 10000 });
        assert.match(await text("#read-only", limited), /administrative access/);
        assert.match(await text("#read-only", limited), /io\.sriovd\.manage/);
        // everything is shown...
        assert.equal(await text(field(PF2, "NumVFs"), limited), String(pfProp(PF2, "NumVFs")));
        // ...and nothing can be changed
        const buttons = await limited.$$eval("#pfs button", bs => bs.map(b => [b.textContent, b.disabled]));
        assert.ok(buttons.length >= 1 + 4, JSON.stringify(buttons));
        for (const [label, disabled] of buttons)
            assert.equal(disabled, true, `${label} is enabled`);
        assert.equal(await limited.$eval("#doctor-run", b => b.disabled), false, "the checks change nothing");
        // RunDiagnostics() is read-only: this session runs the checks too
        await limited.click("#doctor-run");
        await limited.waitForSelector("#doctor-summary", { timeout: 60000 });
        // and sriovd itself refuses this session's user (uid 65534) a change
        const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "busctl", "--system",
                                        "call", "io.sriovd", pfPath(PF2), PF_IF, "SetNumVFs", "ut", "1", "1"],
                            { encoding: "utf8" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /[Aa]ccess|denied|not allowed/);
        await shot("read-only", limited);
    } finally {
        await limited.close();
    }
});

// Opens the session whose administrative access is a superuser bridge that is not root (run.py): it
// starts limited; administrative access is turned on as Cockpit's top bar does (cockpit.Superuser.Start),
// and the page reloads with its change controls enabled.
async function openDelegated() {
    const p = await open(process.env.URL_DELEGATED);
    const superuser = await p.evaluate(() => {
        const su = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
        return su.wait().then(() => su.Current);
    });
    if (superuser === "none") {
        await p.waitForSelector("#read-only", { timeout: 10000 });
        const reloaded = p.waitForNavigation({ waitUntil: "load", timeout: 15000 });
        await p.evaluate(() => {
            const su = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
            return su.wait().then(() => su.Start("superuser-bridge.py"));
        }).catch(() => null);       // the page reloads meanwhile
        await reloaded;
    }
    await p.waitForSelector(`button[data-key="numvfs-${PF1}"]:not([disabled])`, { timeout: 15000 });
    return p;
}

test("a change polkit refuses an administrator says which change and leaves the page as it was", async () => {
    const admin = await openDelegated();
    try {
        assert.equal(await admin.$("#read-only"), null);
        // polkit allows io.sriovd.manage: a count set here is decided by polkit for uid 65534, and applied
        polkitAllow("io.sriovd.manage");
        const checks = polkitChecks().length;
        await admin.click(`button[data-key="numvfs-${PF1}"]`);
        await typeInto("#numvfs-count", 1, admin);
        await admin.click("#numvfs-runtime");
        await admin.click("#numvfs-apply");
        await admin.waitForFunction(() => !document.getElementById("numvfs-dialog").open, { timeout: 30000 });
        assert.equal(kernelNumVfs(PF1), 1);
        assert.deepEqual(polkitChecks().slice(checks), ["io.sriovd.manage"]);
        await waitText(field(PF1, "NumVFs"), "1", 10000, admin);

        // polkit refuses from now on; the page, which cannot know, still offers the change
        polkitAllow();
        const [name, message] = callErrorAsNobody(pfPath(PF1), PF_IF, "SetNumVFs", "uint32:3", "uint64:1");
        assert.equal(name, "org.freedesktop.DBus.Error.AccessDenied");
        const shown = async () => ({
            NumVFs: await text(field(PF1, "NumVFs"), admin),
            DesiredNumVFs: await text(field(PF1, "DesiredNumVFs"), admin),
            rows: await rowCount(PF1, admin),
        });
        const before_ = await shown();
        assert.deepEqual(before_, { NumVFs: "1", DesiredNumVFs: String(pfProp(PF1, "DesiredNumVFs")), rows: 1 });
        await admin.click(`button[data-key="numvfs-${PF1}"]`);
        await typeInto("#numvfs-count", 3, admin);
        await admin.click("#numvfs-runtime");
        await admin.click("#numvfs-apply");
        await admin.waitForSelector("#numvfs-error:not([hidden])", { timeout: 30000 });
        assert.equal(await text("#numvfs-error", admin),
                     `Setting the number of VFs of sriovweb1 (${PF1}) to 3 was refused: ${message}.`);
        assert.match(message, /io\.sriovd\.manage/);
        assert.equal(await admin.$eval("#numvfs-force", b => b.hidden), true, "forcing is offered");
        // nothing changed, in the kernel, in sriovd and on the page (also after a late signal would be in)
        assert.equal(kernelNumVfs(PF1), 1);
        assert.equal(pfProp(PF1, "NumVFs"), 1);
        await new Promise(resolve => setTimeout(resolve, 500));
        assert.deepEqual(await shown(), before_);
        // the page is read-only now and says which change was refused
        await admin.waitForSelector("#read-only");
        const notice = await text("#read-only", admin);
        assert.ok(notice.includes(`Setting the number of VFs of sriovweb1 (${PF1}) to 3: ${message}`), notice);
        const buttons = await admin.$$eval("#pfs button", bs => bs.map(b => [b.textContent, b.disabled]));
        for (const [label, disabled] of buttons)
            assert.equal(disabled, true, `${label} is enabled after the refusal`);
        await shot("refused-by-polkit", admin);
        await admin.click("#numvfs-dialog [data-close]");

        // A policy change, from the page loaded again (controls enabled), is refused the same way
        await admin.reload({ waitUntil: "load" });
        await admin.waitForSelector(`button[data-key="policy-${PF1}/0"]:not([disabled])`, { timeout: 15000 });
        const vf = vfPaths(PF1)[0];
        const policy = prop(vf, VF_IF, "Policy");
        const driverCell = vfRow(PF1, 0) + ' td[data-field="Driver"]';
        assert.equal(await text(driverCell, admin), "igbvf");
        await admin.click(`button[data-key="policy-${PF1}/0"]`);
        await admin.waitForFunction(() => document.getElementById("policy-dialog").open);
        await typeInto("#policy-Driver", "vfio-pci", admin);
        await admin.click("#policy-apply");
        await admin.waitForSelector("#policy-error:not([hidden])", { timeout: 30000 });
        assert.equal(await text("#policy-error", admin),
                     `Changing Driver in the policy of VF 0 of sriovweb1 (${PF1}) was refused: ${message}.`);
        assert.deepEqual(prop(vf, VF_IF, "Policy"), policy);
        assert.equal(prop(vf, VF_IF, "Driver"), "igbvf");
        assert.equal(kernelDriver(prop(vf, VF_IF, "PciAddress")), "igbvf");
        await new Promise(resolve => setTimeout(resolve, 500));
        assert.equal(await text(driverCell, admin), "igbvf");
        assert.equal(await text(vfRow(PF1, 0) + ' td[data-field="NotInForce"]', admin), "—");
        assert.equal(await admin.$eval(vfRow(PF1, 0) + ' td[data-field="State"]',
                                       e => e.querySelector(".error-text") === null), true);
        await admin.click("#policy-dialog [data-close]");
    } finally {
        polkitAllow();
        await admin.close();
    }
});
