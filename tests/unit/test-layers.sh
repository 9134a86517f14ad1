#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's layering (docs/architecture.md): no include cycle between its modules, and no bus
# message in the model, the planner, the executor or the adapters.
set -euo pipefail
top=$1

python3 "$top/tools/include-graph.py" "$top/daemon"

bus_layer='^(main|manager-dbus|pf-dbus|vf-dbus|lease-dbus|bus-call|bus-changes|bus-objects|polkit)\.[ch]$'
# the adapter of the bus daemon's NameOwnerChanged reads that signal; what it offers knows no message
bus_adapter='^peers\.c$'
bad=()
for f in "$top"/daemon/*.[ch]; do
        name=$(basename "$f")
        [[ $name =~ $bus_layer ]] && continue
        [[ $name =~ $bus_adapter ]] && continue
        if grep -q 'sd_bus_message' "$f"; then
                bad+=("$name")
        fi
done
if [ ${#bad[@]} -gt 0 ]; then
        echo "FAIL: sd_bus_message outside the bus layer: ${bad[*]}" >&2
        exit 1
fi
echo "no sd_bus_message outside the bus layer"
