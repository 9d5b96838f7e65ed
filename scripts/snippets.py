"""Keeps code in README.md and docs/ identical to tested example files.

A fenced block preceded by `<!-- snippet: PATH#NAME -->` must hold exactly the
lines between `START NAME` and `END NAME` in PATH (dedented). The examples run
in `make test`, so every quoted snippet is tested.

    python3 scripts/snippets.py --check   # fail on drift (make docs-check)
    python3 scripts/snippets.py --write   # rewrite the quotes from the files
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"<!-- snippet: (?P<path>[^#]+)#(?P<name>[\w-]+) -->\n```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


def region(path: str, name: str) -> str:
    lines = (ROOT / path).read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if re.search(rf"\bSTART {name}$", l))
    end = next(i for i, l in enumerate(lines) if re.search(rf"\bEND {name}$", l))
    return textwrap.dedent("\n".join(lines[start + 1 : end])) + "\n"


def main(mode: str) -> int:
    drift = []
    count = 0
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = md.read_text()

        def fix(m: re.Match[str]) -> str:
            nonlocal count
            count += 1
            want = region(m["path"], m["name"])
            if m["body"] != want:
                drift.append(f"{md.relative_to(ROOT)}: {m['path']}#{m['name']}")
            return f"<!-- snippet: {m['path']}#{m['name']} -->\n```{m['lang']}\n{want}```"

        new = MARK.sub(fix, text)
        if mode == "--write" and new != text:
            md.write_text(new)
    if mode == "--check" and drift:
        print("snippets differ from their example files (run scripts/snippets.py --write):", *drift, sep="\n  ")
        return 1
    print(f"{count} snippets match their tested example files")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "--check"))
