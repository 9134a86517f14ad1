#!/usr/bin/env bash
# The whole test suite: installs what it needs (as root), builds warning-clean, runs the unit,
# mock-hardware, browser (the Cockpit page in headless Chromium), Debian package and real-kernel (QEMU)
# tiers, every fuzz target over its corpus and the unit and mock tiers again under ASan and UBSan, and
# ends with one "N passed, N failed" line for all of them.
#
#   tools/test.sh [--suite unit|mock|browser|package|vm|fuzz|sanitize]... [--no-deps] [--build-dir DIR]
#
# unit, mock, browser, package (tools/package.sh and lintian) and vm run in DIR (default build-test);
# fuzz builds the libFuzzer targets with clang in DIR-fuzz (default build-fuzz); sanitize builds
# everything with clang, ASan and UBSan in DIR-asan (default build-asan), where any sanitizer report
# fails the tier (docs/hardening.md).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-test"
fuzz_build="$top/build-fuzz"
asan_build="$top/build-asan"
suites=()
deps=1

while [ $# -gt 0 ]; do
        case "$1" in
        --suite) suites+=("$2"); shift 2 ;;
        --no-deps) deps=0; shift ;;
        --build-dir) build="$2"; fuzz_build="$2-fuzz"; asan_build="$2-asan"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument '$1'" >&2; exit 2 ;;
        esac
done
[ ${#suites[@]} -gt 0 ] || suites=(unit mock browser package vm fuzz sanitize)

main_suites=()
main_args=()
run_fuzz=0
run_sanitize=0
run_vm=0
for s in "${suites[@]}"; do
        case "$s" in
        fuzz) run_fuzz=1 ;;
        sanitize) run_sanitize=1 ;;
        vm) run_vm=1 ;;
        *) main_suites+=("$s"); main_args+=(--suite "$s") ;;
        esac
done

if [ "$deps" = 1 ]; then
        if [ "$(id -u)" -eq 0 ]; then
                "$top/tools/install-deps.sh"
                case " ${suites[*]} " in *" vm "*) "$top/tools/vm-deps.sh" ;; esac
        else
                echo "test.sh: not root, not installing packages (run as root to install them)" >&2
        fi
fi

# setup BUILD [meson option]...: configures BUILD, or reconfigures it with the options.
setup() {
        local dir="$1"
        shift
        if [ -f "$dir/build.ninja" ]; then
                meson configure "$dir" "$@" >/dev/null
        else
                meson setup "$dir" "$top" "$@" >/dev/null
        fi
}

rc=0
logs=()
timing=()

if [ ${#main_args[@]} -gt 0 ] || [ "$run_vm" = 1 ]; then
        setup "$build" -Dwerror=true
        ninja -C "$build"
fi

# One test at a time: the mock and browser tiers measure how soon sriovd answers.
if [ ${#main_args[@]} -gt 0 ]; then
        start=$SECONDS
        meson test -C "$build" --print-errorlogs --num-processes 1 "${main_args[@]}" || rc=$?
        logs+=("$build/meson-logs/testlog.json")
        timing+=("${main_suites[*]}: $((SECONDS - start)) s")
fi

# The QEMU boots, two at once where there are two CPUs (SRIOVD_VM_JOBS): each TCG guest keeps one busy.
if [ "$run_vm" = 1 ]; then
        start=$SECONDS
        jobs=${SRIOVD_VM_JOBS:-$(( $(nproc) >= 2 ? 2 : 1 ))}
        meson test -C "$build" --print-errorlogs --num-processes "$jobs" --logbase vm-testlog --suite vm || rc=$?
        logs+=("$build/meson-logs/vm-testlog.json")
        timing+=("vm ($jobs at once): $((SECONDS - start)) s")
fi

if [ "$run_fuzz" = 1 ]; then
        start=$SECONDS
        CC=clang setup "$fuzz_build" -Dwerror=true -Dfuzzing=true
        ninja -C "$fuzz_build"
        meson test -C "$fuzz_build" --print-errorlogs --num-processes 1 --suite fuzz || rc=$?
        logs+=("$fuzz_build/meson-logs/testlog.json")
        timing+=("fuzz: $((SECONDS - start)) s")
fi

if [ "$run_sanitize" = 1 ]; then
        start=$SECONDS
        # clang: gcc's ASan runtime must come first in LD_PRELOAD, which the mock tier's umockdev
        # preload rules out; clang links its runtime into the executable. Every report aborts the
        # process (no recovery, abort_on_error), leaks included.
        CC=clang setup "$asan_build" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
                -Dc_args=-fno-sanitize-recover=all
        ninja -C "$asan_build"
        ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1 \
        UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1 \
                meson test -C "$asan_build" --print-errorlogs --num-processes 1 --suite unit --suite mock || rc=$?
        logs+=("$asan_build/meson-logs/testlog.json")
        timing+=("sanitize: $((SECONDS - start)) s")
fi

for t in "${timing[@]}"; do echo "test.sh: $t"; done

# One closing line that counts every test case meson ran, whatever the tier. A test whose output holds a
# sanitizer report counts as failed even if it passed (a report from a process whose exit status the
# test does not look at).
/usr/bin/python3 - "${logs[@]}" <<'PY' || rc=1
import json, re, sys
report = re.compile(r'^==\d+==ERROR: (?:Address|Leak)Sanitizer|^\S+:\d+:\d+: runtime error: ', re.M)
passed = failed = skipped = 0
failures = []
for log in sys.argv[1:]:
    for line in open(log):
        t = json.loads(line)
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL") and report.search(t.get("stdout", "") + t.get("stderr", "")):
            print(f"test.sh: {t['name']} passed, but its output holds a sanitizer report", file=sys.stderr)
            r = "FAIL"
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(t)
# What failed, again at the end, where a reader of only the output's tail finds it.
for t in failures:
    out = (t.get("stdout", "") + t.get("stderr", "")).rstrip().splitlines()
    print(f"test.sh: FAILED {t['name']} ({t['result']}, {t.get('duration', 0):.0f} s), the last lines of its output:")
    for line in out[-40:]:
        print(f"test.sh:   {line}")
for t in failures:
    print(f"test.sh: FAILED {t['name']}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
if [ "$rc" -eq 0 ] && [ "${CI:-}" = true ] && grep -q '"result": "SKIP"' "${logs[@]}"; then
        echo "test.sh: a test tier was skipped, which CI does not accept" >&2
        rc=1
fi
exit "$rc"
