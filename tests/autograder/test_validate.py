"""The student's self-check."""

from __future__ import annotations

import subprocess
import sys

import nbformat


def _validate(path):
    return subprocess.run(
        [sys.executable, "-m", "autograder", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_validate_fails_on_the_untouched_release(fixture_release):
    """Does validate exit 1 and show TODO lines when nothing is implemented?"""
    proc = _validate(fixture_release)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "TODO  ch98_add" in proc.stdout and "0 of 2 visible test cells pass" in proc.stdout


def test_validate_passes_a_correct_notebook_and_fails_a_wrong_one(fixture_chapter, tmp_path):
    """Does validate exit 0 on correct work and 1 (with the assertion message) on a wrong answer?"""
    proc = _validate(fixture_chapter.solution)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nb = nbformat.read(str(fixture_chapter.solution), as_version=4)
    nb.cells[2].source = "def add(a, b):\n    return a * b"
    wrong = tmp_path / "98_fixture.ipynb"
    nbformat.write(nb, str(wrong))
    proc = _validate(wrong)
    assert proc.returncode == 1
    assert "FAIL  ch98_add" in proc.stdout and "add(1, 2) should be 3" in proc.stdout


def test_validate_reports_a_corrupted_file(tmp_path):
    """Does a broken file give exit 1 and a readable line, not a traceback?"""
    path = tmp_path / "01_tensors.ipynb"
    path.write_text("{")
    proc = _validate(path)
    assert proc.returncode == 1 and "not a readable notebook" in proc.stdout
    assert "Traceback" not in proc.stderr
