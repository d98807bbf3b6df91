#!/usr/bin/env python3
"""docs:readme-excerpts — every code block of the README is an excerpt of a file CI builds.

Usage: readme_excerpts.py README SOURCE_ROOT [--update]

A fenced block is tied to its file by an HTML comment on the line before its opening fence:

  <!-- excerpt: PATH -->        the block is the whole file PATH
  <!-- excerpt: PATH#NAME -->   the block is the region NAME of PATH: the lines between a line
                                containing `excerpt-begin: NAME` and one containing
                                `excerpt-end: NAME` (in whatever comment syntax the file uses),
                                without other regions' marker lines, dedented as a whole
  <!-- quote: PATH -->          the block's lines appear in PATH one after another, verbatim
                                (for files that carry no markers)

PATH is relative to SOURCE_ROOT. A block in C++ or CMake (```cpp, ```cmake) must have one of
them; blocks in other languages (```sh, ```yaml) are checked when they have one. Blocks without
a language are quoted output or synopses, not code (docs:readme-cli checks the synopses).
Exit 0 when every block matches; else 1, naming each block (README line), its file and the
difference. With --update, the `excerpt:` blocks are rewritten from their files instead (after
changing a marked region, run it and review the README's diff); `quote:` blocks are only checked.
"""

import difflib
import os
import re
import sys

MUST_BE_EXCERPTS = {"cpp", "c++", "cmake"}
MARKER = re.compile(r"^<!--\s*(excerpt|quote):\s*([^#\s]+)(?:#(\S+))?\s*-->\s*$")


def blocks(lines):
    """Yields (line number of the opening fence, language, block lines, marker match or None)."""
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        marker = None
        k = start - 1
        while k >= 0 and lines[k].strip() == "":
            k -= 1
        if k >= 0:
            marker = MARKER.match(lines[k].strip())
        yield start + 1, fence.group(1).lower(), lines[start + 1 : j], marker
        i = j + 1


def dedent(lines):
    indents = [len(l) - len(l.lstrip(" ")) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] if l.strip() else "" for l in lines]


def region(path, text, name):
    """The lines of region `name`, or an error string."""
    lines = text.split("\n")
    begin = [i for i, l in enumerate(lines) if re.search(r"excerpt-begin:\s*" + re.escape(name) + r"\s*$", l)]
    end = [i for i, l in enumerate(lines) if re.search(r"excerpt-end:\s*" + re.escape(name) + r"\s*$", l)]
    if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
        return None, (
            f"{path} has {len(begin)} 'excerpt-begin: {name}' and {len(end)} 'excerpt-end: {name}' "
            "lines; it needs one of each, begin first")
    inside = [l for l in lines[begin[0] + 1 : end[0]] if not re.search(r"excerpt-(begin|end):", l)]
    return dedent(inside), None


def contains(haystack, needle):
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def main():
    readme_path, root = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read().split("\n")
    problems = []
    checked = 0
    replacements = []  # (first line index, end index, new lines) of blocks to rewrite
    for line, lang, body, marker in blocks(readme):
        where = f"README.md:{line}: the ```{lang} block"
        if marker is None:
            if lang in MUST_BE_EXCERPTS:
                problems.append(
                    f"{where} is code but names no file it is an excerpt of: put "
                    "'<!-- excerpt: PATH#REGION -->' (or '<!-- excerpt: PATH -->', "
                    "'<!-- quote: PATH -->') on the line before it")
            continue
        kind, path, name = marker.groups()
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            problems.append(f"{where} names {path}, which does not exist")
            continue
        with open(full, encoding="utf-8") as f:
            text = f.read()
        body = [l.rstrip() for l in body]
        if kind == "quote":
            if name is not None:
                problems.append(f"{where}: 'quote:' takes a file, not a region ({path}#{name})")
            elif not contains([l.rstrip() for l in text.split("\n")], body):
                problems.append(f"{where} is not a verbatim run of lines of {path}:\n" + "\n".join(body))
            checked += 1
            continue
        if name is None:
            expected = [l.rstrip() for l in text.rstrip("\n").split("\n")]
            what = f"the whole of {path}"
        else:
            expected, error = region(path, text, name)
            if error:
                problems.append(f"{where}: {error}")
                continue
            expected = [l.rstrip() for l in expected]
            what = f"region '{name}' of {path}"
        if body != expected and update:
            replacements.append((line, line + len(body), expected))
        elif body != expected:
            diff = "\n".join(difflib.unified_diff(expected, body, what, "README.md", lineterm=""))
            problems.append(f"{where} differs from {what}:\n{diff}")
        checked += 1
    for first, end, new in reversed(replacements):
        readme[first:end] = new
    if replacements:
        with open(readme_path, "w", encoding="utf-8") as f:
            f.write("\n".join(readme))
        print(f"rewrote {len(replacements)} README block(s) from their files")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} README block(s) out of step with their files", file=sys.stderr)
        return 1
    print(f"{checked} README blocks match their files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
