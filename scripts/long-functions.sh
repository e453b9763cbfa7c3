#!/usr/bin/env bash
# Lists the functions longer than a limit (default 60 lines, from the line of
# the name to the closing brace) in the C++ sources of the library and the
# program (autograd/ io/ bptt/ nn/ check/ optim/ dist/ app/),
# longest first: "lines  file:line  name". Exit status 1 when there is one.
# Usage: scripts/long-functions.sh [limit] [dir...]   (run from the repository root)
#
# How: brace counting over the text with comments, strings and character
# literals blanked. A '{' opens a function body when the text before it (since
# the last ';', '{' or '}') ends in ')' -- possibly followed by const, override,
# noexcept, a trailing return type or a constructor's initializer list -- and
# is not an if/for/while/switch/catch or a lambda (those count toward the
# function around them).
set -euo pipefail
limit=${1:-60}
shift || true
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(autograd io bptt nn check optim dist app)
find "${dirs[@]}" -type f \( -name '*.cpp' -o -name '*.hpp' \) | sort | python3 -c '
import re, sys
limit = int(sys.argv[1])

def blank(text):
    """Comments, string and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i) or (c == "#" and (i == 0 or text[i - 1] == "\n")):
            j = text.find("\n", i)
            j = n if j < 0 else j
            while c == "#" and j < n and text[j - 1] == "\\":  # continued preprocessor line
                k = text.find("\n", j + 1); j = n if k < 0 else k
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2); j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == "R" and text.startswith("R\"", i) and (i == 0 or not (text[i-1].isalnum() or text[i-1] == "_")):
            k = text.find("(", i); delim = text[i + 2:k]
            j = text.find(")" + delim + "\"", k); j = n if j < 0 else j + len(delim) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c in "\"\x27" and not (c == "\x27" and i > 0 and text[i-1].isalnum()):  # not a digit separator
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i)); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)

control = re.compile(r"^(if|for|while|switch|catch|else|do|try)\b")
ends_like_function = re.compile(
    r"\)\s*(const|override|final|noexcept(\([^)]*\))?|&|&&|\s)*(->\s*[\w:<>,\s*&]+)?\s*$|\)\s*:\s*[\w:]+\s*[({].*$", re.S)

found = []
for path in sys.stdin.read().split():
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    stack, header_start, line = [], 0, 1
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        if c in ";{}":
            if c == "{":
                header = text[header_start:i]
                body = header.strip()
                body = re.sub(r"^template\s*<[^{;]*?>\s*(?=[A-Za-z_])", "", body, flags=re.S)
                is_fn = (bool(ends_like_function.search(body)) and not control.match(body)
                         and not re.search(r"\]\s*(\(|mutable|->|$)", body) and "(" in body
                         and not any(kind == "fn" for kind, _, _ in stack))
                start = line - body.count("\n") if body else line
                name = re.sub(r"\s+", " ", body.split("(")[0]).split(" ")[-1] if is_fn else ""
                stack.append(("fn" if is_fn else "block", start, name))
            elif c == "}" and stack:
                kind, start, name = stack.pop()
                if kind == "fn" and line - start + 1 > limit:
                    found.append((line - start + 1, f"{path}:{start}", name))
            header_start = i + 1
for length, where, name in sorted(found, reverse=True):
    print(f"{length:5d}  {where}  {name}")
sys.exit(1 if found else 0)
' "$limit"
