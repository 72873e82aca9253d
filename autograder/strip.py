"""Strip a notebook for git: outputs, execution counts and editor metadata go; nbgrader's stays."""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["strip", "strip_file"]

CELL_KEYS_DROPPED = {
    "execution",
    "ExecuteTime",
    "collapsed",
    "scrolled",
    "jp-MarkdownHeadingCollapsed",
}
NOTEBOOK_KEYS_KEPT = {"kernelspec", "language_info"}


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Clear outputs in place and return ``nb``; cell ``nbgrader`` metadata is kept untouched."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in CELL_KEYS_DROPPED & set(cell.metadata):
            del cell.metadata[key]
    for key in set(nb.metadata) - NOTEBOOK_KEYS_KEPT:
        del nb.metadata[key]
    if "language_info" in nb.metadata:
        nb.metadata.language_info = {"name": nb.metadata.language_info.get("name", "python")}
    return nb


def strip_file(path: Path) -> None:
    """Strip the notebook at ``path`` in place."""
    nb = nbformat.read(str(path), as_version=4)
    nbformat.write(strip(nb), str(path))
