#!/usr/bin/env python3
"""Every "knows nothing of" rule of the README's layout table, held by a test.

The house, bottom up: autograd, io, nn; bptt beside nn, using autograd's
kernels only; check (the tape against bptt) and optim on nn, neither knowing
the other; dist on optim; app on top. Each folder may include the
standard library, third-party headers, its own files and what RULES names;
anything else of the tree is a wrong include and is listed as
"file:line: the include: why". The umbrella header rewind.hpp must include its
headers layer by layer, in the order of UMBRELLA_ORDER.

Usage: layering.py ROOT   (the repository root; exit status 1 on a wrong include;
                          tests/data/layering_planted holds two, for the test of this test)
"""
import os
import re
import sys

# folder -> what it may include of the tree: whole folders, or single headers
# ("autograd/blas.hpp"). A folder missing here (tests/, examples/, ...) is not checked.
RULES = {
    "autograd": [],
    "io": ["autograd"],
    # an independent second opinion on nn/: autograd's kernels, Tensor values,
    # rwd::Error and the explicit-instantiation macro, nothing else
    "bptt": ["autograd/blas.hpp", "autograd/vector_math.hpp", "autograd/tensor.hpp",
             "autograd/engine.hpp", "autograd/instantiate.hpp"],
    "nn": ["autograd", "io"],
    "check": ["autograd", "io", "nn", "bptt"],
    "optim": ["autograd", "io", "nn"],
    "dist": ["autograd", "io", "nn", "optim"],
    "app": ["autograd", "io", "bptt", "nn", "check", "optim", "dist", "rewind.hpp"],
}
# The umbrella header's layers, in the order it must include them.
UMBRELLA_ORDER = ["autograd", "io", "bptt", "nn", "check", "optim"]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def target(path, kind, name):
    """The tree-relative path an include names, or None for a header outside the tree."""
    if kind == "<":
        return name[len("rewind/"):] if name.startswith("rewind/") else None
    return os.path.normpath(os.path.join(os.path.dirname(path), name))


def allowed(folder, header):
    if header.split("/")[0] == folder:
        return True
    return any(header == rule or header.startswith(rule + "/") for rule in RULES[folder])


def why(folder, header):
    """The rule a wrong include breaks, in the README's words."""
    may = ", ".join(r + ("" if r.endswith(".hpp") else "/") for r in RULES[folder])
    other = header.split("/")[0]
    if any(rule.startswith(other + "/") for rule in RULES[folder]):
        return f"{folder}/ uses only these of {other}/: {may}"
    return f"{folder}/ knows nothing of {other}/ (" + (f"it may include {may} and itself)" if may else "it may include only itself)")


def check_folders(root):
    wrong, files = [], 0
    for folder in sorted(RULES):
        for dirpath, _, names in os.walk(os.path.join(root, folder)):
            for name in sorted(names):
                if not name.endswith((".cpp", ".hpp")):
                    continue
                files += 1
                path = os.path.relpath(os.path.join(dirpath, name), root)
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        header = m and target(path, m.group(1), m.group(2))
                        if header and not allowed(folder, header):
                            wrong.append(f"{path}:{number}: {line.strip()}: {why(folder, header)}")
    return wrong, files


def check_umbrella(root):
    path = os.path.join(root, "rewind.hpp")
    if not os.path.exists(path):
        return []
    wrong, highest = [], 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m or m.group(1) != '"':
                continue
            folder = m.group(2).split("/")[0]
            if folder not in UMBRELLA_ORDER:
                wrong.append(f"rewind.hpp:{number}: {line.strip()}: not a layer of the umbrella header "
                             f"({', '.join(UMBRELLA_ORDER)})")
                continue
            rank = UMBRELLA_ORDER.index(folder)
            if rank < highest:
                wrong.append(f"rewind.hpp:{number}: {line.strip()}: {folder}/ comes after "
                             f"{UMBRELLA_ORDER[highest]}/ (the layers in order: {', '.join(UMBRELLA_ORDER)})")
            highest = max(highest, rank)
    return wrong


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    wrong, files = check_folders(root)
    wrong += check_umbrella(root)
    for line in wrong:
        print(line)
    if files == 0:
        print(f"no sources under {root}: give the repository root")
        return 1
    if not wrong:
        print(f"layering: {files} files of {', '.join(sorted(RULES))} include only what their layer may; "
              "rewind.hpp includes its layers in order")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
