#!/usr/bin/env python3
"""How much of README.md is repeated word for word in the repository's other Markdown files.

    python scripts/doc_duplicates.py [ROOT]

Counts README paragraphs (blank-line separated, 80 characters or more) that appear verbatim in another `*.md`
file under ROOT (test corpora and dependencies left out), and prints each with the files that repeat it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SKIP = ("node_modules", ".cache", ".venv", "tests/redaction/corpus", ".pytest_cache")


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    others = {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in root.rglob("*.md")
        if path.name != "README.md" or path.parent != root
        if not any(part in path.relative_to(root).as_posix() for part in SKIP)
    }
    repeated = 0
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", readme)):
        where = sorted(name for name, text in others.items() if len(paragraph) >= 80 and paragraph in text)
        if where:
            repeated += len(paragraph)
            print(f"{len(paragraph):6d} {', '.join(where)}: {paragraph[:70]!r}")
    print(f"README.md: {len(readme.encode())} bytes, {repeated} characters repeated verbatim in other Markdown files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
