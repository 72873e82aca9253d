"""The student's self-check."""

from __future__ import annotations

import subprocess
import sys

import nbformat

from autograder.validate import shorten


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


def test_validate_reports_a_lesson_cell_that_waits_for_an_exercise(fixture_release, tmp_path):
    """Is a lesson cell that fails on an unfinished exercise listed as an error, by its Jupyter
    number, next to the exercises' TODO lines?"""
    nb = nbformat.read(str(fixture_release), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print(add(2, 3))"))
    path = tmp_path / fixture_release.name
    nbformat.write(nb, str(path))
    proc = _validate(path)
    assert proc.returncode == 1
    numbers = [i for i, c in enumerate((c for c in nb.cells if c.cell_type == "code"), 1)]
    assert f"ERROR cell [{numbers[-1]}]: NotImplementedError" in proc.stdout
    assert "TODO  ch98_add" in proc.stdout


def test_shorten_cuts_long_messages_at_a_sentence_end():
    """Are long check messages cut after a whole sentence (or a word), never mid-word?"""
    first = "f(x): 3 of 20 values differ from the reference (first at index (0,))."
    hint = " Every value is twice the reference: a factor 2 is missing or extra?"
    assert shorten(first + hint, limit=500) == first + hint
    assert shorten(first + hint, limit=len(first) + 20) == first + " [...]"
    words = shorten("word " * 100, limit=40)
    assert words.endswith("word [...]") and len(words) <= 40
