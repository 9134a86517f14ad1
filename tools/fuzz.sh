#!/usr/bin/env bash
# Fuzzes one target of tests/fuzz/ for real: builds the libFuzzer targets with clang in their own build
# directory and runs fuzz-TARGET for SECONDS (0: until it finds something or is stopped), starting
# from the seed corpus tests/fuzz/TARGET/. What it finds goes to BUILD/fuzz-TARGET/: new inputs to
# corpus/ (the seed directory is only read), a crash, leak or timeout to artifacts/, which it names at
# the end; once the bug is fixed, copy that file into tests/fuzz/TARGET/ so that the suite 'fuzz'
# runs it from then on. Arguments after SECONDS go to libFuzzer (-jobs=2, -runs=N, -max_len=N, ...).
#
#   tools/fuzz.sh TARGET SECONDS [libFuzzer option]... [--build-dir DIR]
#   tools/fuzz.sh --list
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-fuzz"
args=()
positional=()

while [ $# -gt 0 ]; do
        case "$1" in
        --build-dir) build="$2"; shift 2 ;;
        --list) positional=(--list); shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) args+=("$1"); shift ;;
        *) positional+=("$1"); shift ;;
        esac
done

targets() {
        for d in "$top"/tests/fuzz/*/; do basename "$d"; done
}

if [ "${positional[0]:-}" = --list ]; then
        targets
        exit 0
fi
if [ ${#positional[@]} -ne 2 ] || ! [[ "${positional[1]}" =~ ^[0-9]+$ ]]; then
        sed -n '10,11p' "$0" >&2
        exit 2
fi
target="${positional[0]}"
seconds="${positional[1]}"
if [ ! -d "$top/tests/fuzz/$target" ]; then
        echo "fuzz.sh: no target '$target'; the targets are: $(targets | tr '\n' ' ')" >&2
        exit 2
fi

if [ ! -f "$build/build.ninja" ]; then
        CC=clang meson setup "$build" "$top" -Dfuzzing=true >/dev/null
fi
ninja -C "$build" "tests/fuzz/fuzz-$target"

work="$build/fuzz-$target"
mkdir -p "$work/corpus" "$work/artifacts"
touch "$work/started"
rc=0
"$build/tests/fuzz/fuzz-$target" -max_total_time="$seconds" -artifact_prefix="$work/artifacts/" \
        -print_final_stats=1 "${args[@]}" "$work/corpus" "$top/tests/fuzz/$target" || rc=$?

found=$(find "$work/artifacts" -type f -newer "$work/started")
if [ -n "$found" ]; then
        echo "fuzz.sh: fuzz-$target found something; reproduce with $build/tests/fuzz/fuzz-$target FILE:" >&2
        echo "$found" >&2
        [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
