#!/usr/bin/env bash
# Lists the public declarations of the library targets that have no DocC comment, and prints how
# many there are (0 when every one has). Exit status: 0 when none is missing, 1 otherwise.
#
#   scripts/doc-coverage.sh [TARGET_DIR…]      # default: Sources/Cloakroom, Sources/CloakroomCrypto,
#                                              #          Sources/CloakroomAsyncHTTPClient, Sources/CloakroomAgent
#
# The heuristic (a reader of lines, not a Swift parser; good enough for this code's style):
# - A declaration is public when its line starts, after any attributes (`@inlinable`,
#   `@discardableResult`, …), with `public` or `open` (`public private(set)` too), and every type
#   it is nested in is public (a `public` member of an internal type is not API). Extensions pass
#   visibility through: their members are judged by their own modifiers. `public import` lines are
#   imports, not declarations. Bodies of functions, initialisers and computed properties are not
#   looked into.
# - The `case` lines of a public enum are public declarations too (one comment covers a line
#   `case a, b`).
# - A declaration is documented when the nearest line above it, skipping attribute lines
#   (`@available(…)` on a line of its own), is a `///` comment or closes a `/** … */` one. A blank
#   line or a `//` comment in between does not count: DocC would not attach such a comment.
# Braces are counted outside strings (interpolations and multi-line strings included) and comments.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# == 0)); then
  set -- Sources/Cloakroom Sources/CloakroomCrypto Sources/CloakroomAsyncHTTPClient Sources/CloakroomAgent
fi
find "$@" -name '*.swift' -print0 | sort -z | python3 -c '
import re, sys

paths = [p for p in sys.stdin.buffer.read().decode().split("\0") if p]

ATTR = r"(?:@[A-Za-z_][\w.]*(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?\s+)*"
MOD = r"(?:(?:public|open)(?:\([^)]*\))?\s+)"
PUBLIC = re.compile(r"^\s*" + ATTR + r"(?:(?:final|static|class|nonisolated|override|required|convenience|mutating|indirect|private\(set\)|internal\(set\)|fileprivate\(set\)|package\(set\))\s+)*" + MOD)
IMPORT = re.compile(r"^\s*" + ATTR + r"(?:public|package|internal|private|fileprivate)?\s*import\s")
TYPE = re.compile(r"\b(struct|enum|class|actor|protocol|extension)\s+(?!(?:func|var|let|subscript)\b)[A-Za-z_]")
CASE = re.compile(r"^\s*(?:indirect\s+)?case\s+[A-Za-z_`]")
ATTR_LINE = re.compile(r"^\s*@[A-Za-z_][\w.]*(\(.*\))?\s*$")

def code_of(lines):
    """Each line with strings and comments blanked, so that braces and keywords can be counted."""
    out, stack, block = [], [], 0   # stack: "s" (string), "m" (multi-line string), "i" (interpolation: paren depth follows)
    depth = []
    for line in lines:
        res, i, n = [], 0, len(line)
        while i < n:
            c = line[i]
            mode = stack[-1] if stack else None
            if block:
                if line.startswith("*/", i): block -= 1; i += 2; continue
                if line.startswith("/*", i): block += 1; i += 2; continue
                i += 1; continue
            if mode in ("s", "m"):
                if c == "\\" and i + 1 < n and line[i + 1] == "(":
                    stack.append("i"); depth.append(0); i += 2; continue
                if c == "\\": i += 2; continue
                if mode == "m" and line.startswith("\"\"\"", i): stack.pop(); i += 3; res.append("\"\""); continue
                if mode == "s" and c == "\"": stack.pop(); i += 1; res.append("\"\""); continue
                i += 1; continue
            # code, or code inside an interpolation
            if line.startswith("//", i): break
            if line.startswith("/*", i): block += 1; i += 2; continue
            if line.startswith("\"\"\"", i): stack.append("m"); i += 3; continue
            if c == "\"": stack.append("s"); i += 1; continue
            if mode == "i":
                if c == "(": depth[-1] += 1
                elif c == ")":
                    if depth[-1] == 0: stack.pop(); depth.pop(); i += 1; continue
                    depth[-1] -= 1
                i += 1; continue
            res.append(c); i += 1
        if stack and stack[-1] == "s": stack.pop()   # a single-line string never spans lines
        out.append("".join(res))
    return out

missing = []
total = 0
for path in paths:
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    code = code_of(lines)
    # scopes: (kind, public-capable) for each open brace; kind "type", "enum", "ext" or "body".
    scopes, pending = [], None
    for no, (raw, text) in enumerate(zip(lines, code), 1):
        inside_api = all(s[1] for s in scopes) and all(s[0] in ("type", "enum", "ext") for s in scopes)
        is_public = bool(PUBLIC.match(raw)) and not IMPORT.match(raw)
        is_case = bool(CASE.match(text)) and bool(scopes) and scopes[-1][0] == "enum" and inside_api
        if inside_api and (is_public or is_case):
            total += 1
            j = no - 2
            while j >= 0 and ATTR_LINE.match(lines[j]):
                j -= 1
            above = lines[j].strip() if j >= 0 else ""
            if not (above.startswith("///") or above.endswith("*/")):
                missing.append(f"{path}:{no}: {raw.strip()[:100]}")
        m = TYPE.search(text)
        if m and pending is None:
            kind = {"enum": "enum", "extension": "ext"}.get(m.group(1), "type")
            pending = (kind, m.group(1) == "extension" or is_public)
        for c in text:
            if c == "{":
                if pending is not None: scopes.append(pending); pending = None
                else: scopes.append(("body", False))
            elif c == "}":
                if scopes: scopes.pop()
print("\n".join(missing))
print(f"{len(missing)} of {total} public declarations have no DocC comment")
sys.exit(1 if missing else 0)
'
