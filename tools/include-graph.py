#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The include graph of a source folder, by module (foo.c and foo.h are module foo), and its cycles.

    tools/include-graph.py DIR

Prints "module -> modules it includes" per line, then the cycles found; exits 1 if there is one.
Only headers of DIR itself count: common/ and system headers are below every module."""
import os
import re
import sys


def graph(folder):
    edges = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(('.c', '.h')):
            continue
        module = name[:-2]
        edges.setdefault(module, set())
        with open(os.path.join(folder, name), encoding='utf-8') as f:
            for inc in re.findall(r'^#include "([^"]+)\.h"', f.read(), re.M):
                if inc != module and os.path.exists(os.path.join(folder, inc + '.h')):
                    edges[module].add(inc)
    return edges


def cycles(edges):
    found, state = [], {}

    def visit(u, stack):
        state[u] = 'open'
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 'open':
                found.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v, stack)
        stack.pop()
        state[u] = 'done'

    for u in sorted(edges):
        if u not in state:
            visit(u, [])
    return found


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    edges = graph(sys.argv[1])
    for module in sorted(edges):
        print(f"{module} -> {' '.join(sorted(edges[module]))}")
    found = cycles(edges)
    for c in found:
        print('cycle: ' + ' -> '.join(c))
    print(f'{len(found)} cycles')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
