"""Outputs are stripped for git while nbgrader metadata survives."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from autograder import strip


def _executed_copy(src, dst):
    nb = nbformat.read(str(src), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
            cell.execution_count = 3
            cell.metadata["ExecuteTime"] = {"end_time": "now"}
    nb.metadata["jupytext"] = {"formats": "ipynb,py"}
    nbformat.write(nb, str(dst))
    return nb


def _nbgrader_meta(nb):
    return [c.metadata.get("nbgrader") for c in nb.cells]


@pytest.mark.parametrize("tool", ["autograder", "nbstripout"])
def test_stripping_keeps_nbgrader_metadata(fixture_chapter, tmp_path, tool):
    """Do both strippers clear outputs yet keep every cell's nbgrader metadata?"""
    path = tmp_path / "nb.ipynb"
    before = _executed_copy(fixture_chapter.solution, path)
    if tool == "autograder":
        strip.strip_file(path)
    else:
        subprocess.run([sys.executable, "-m", "nbstripout", str(path)], check=True)
    after = nbformat.read(str(path), as_version=4)
    assert _nbgrader_meta(after) == _nbgrader_meta(before)
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in after.cells
        if c.cell_type == "code"
    )


def test_strip_drops_editor_metadata(fixture_chapter, tmp_path):
    """Does our stripper remove jupytext and timing keys?"""
    path = tmp_path / "nb.ipynb"
    _executed_copy(fixture_chapter.solution, path)
    strip.strip_file(path)
    after = nbformat.read(str(path), as_version=4)
    assert "jupytext" not in after.metadata
    assert all("ExecuteTime" not in c.metadata for c in after.cells)
