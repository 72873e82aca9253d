"""Reading chapters and mutant files."""

from __future__ import annotations

import pytest

from autograder import chapters


def test_mutant_file_is_parsed_into_blocks(tmp_path):
    """Does each '# %% mutant' header start a mutant with its exercise, reason and code?"""
    path = tmp_path / "m.py"
    path.write_text(
        "# %% mutant ch01_a: wrong dim\ndef f(x):\n    return x.sum(0)\n\n\n# %% mutant ch01_b: off by one\nN = 3\n"
    )
    mutants = chapters.read_mutants(path)
    assert [(m.exercise, m.description, m.number) for m in mutants] == [
        ("ch01_a", "wrong dim", 1),
        ("ch01_b", "off by one", 2),
    ]
    assert mutants[0].source == "def f(x):\n    return x.sum(0)"


@pytest.mark.parametrize(
    "text", ["# %% mutant: no exercise\nx = 1\n", "# %% mutant ch01_a: empty\n\n"]
)
def test_malformed_mutant_files_are_rejected(tmp_path, text):
    """Does a header without an exercise, or a mutant without code, raise a clear error?"""
    path = tmp_path / "m.py"
    path.write_text(text)
    with pytest.raises(ValueError):
        chapters.read_mutants(path)


def test_unknown_chapter_is_a_clear_error(fixture_solutions):
    """Does asking for a chapter that does not exist name the known ones?"""
    with pytest.raises(ValueError, match="98_fixture"):
        chapters.find_chapters(fixture_solutions, ["07"])
    assert chapters.find_chapters(fixture_solutions, ["98"])[0].name == "98_fixture"


def test_corrupted_notebook_is_reported_not_raised_as_json_error(tmp_path):
    """Does reading a broken file give a ValueError with a readable reason?"""
    path = tmp_path / "x.ipynb"
    path.write_text('{"cells": [')
    with pytest.raises(ValueError, match="not a readable notebook"):
        chapters.read_notebook(path)
