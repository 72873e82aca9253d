"""Read what a lesson cell printed in the self-test's fast-mode run (the lesson-facts tests)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat


def printed(executed: Path, chapter: str, needle: str) -> str:
    """Everything the one code cell of ``chapter`` containing ``needle`` printed."""
    nb = nbformat.read(str(executed / f"{chapter}.ipynb"), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(cells) == 1, f"{chapter}: {len(cells)} code cells contain {needle!r}"
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


def numbers(pattern: str, text: str) -> list[float]:
    """The groups of ``pattern``'s first match in ``text`` as numbers (thousands commas allowed)."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return [float(g.replace(",", "")) for g in match.groups()]
