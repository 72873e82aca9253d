"""The self-test on the fixture chapter: it passes, and it notices a mutant that survives."""

from __future__ import annotations

import shutil

import nbformat

from autograder import chapters, grade, selftest


def test_fixture_chapter_passes_its_selftest(fixture_chapter):
    """Does the solution score full marks, the release zero, and every mutant lose points?"""
    figures = selftest.selftest_chapter(fixture_chapter, grade.Options(timeout=10, workers=2))
    assert figures["solution_score"] == figures["max_score"] == 3
    assert figures["release_score"] == 0
    assert figures["mutants"] == figures["mutants_killed"] == 2
    assert figures["exercises"] == 2 and figures["written"] == 1
    assert selftest.passed(figures), figures["problems"]


def test_a_harmless_mutant_fails_the_selftest(fixture_chapter, tmp_path):
    """Does the self-test fail when a 'mutant' is really a correct answer?"""
    solutions = tmp_path / "solutions"
    shutil.copytree(fixture_chapter.solution.parent, solutions)
    (solutions / "mutants" / "98_fixture.py").write_text(
        "# %% mutant ch98_add: adds in the other order (still right)\ndef add(a, b):\n    return b + a\n"
    )
    chapter = chapters.find_chapters(solutions)[0]
    figures = selftest.selftest_chapter(chapter, grade.Options(timeout=10, workers=2))
    assert figures["mutants_killed"] == 0
    assert any("ch98_hypot: no mutant" in p for p in figures["problems"])
    assert not selftest.passed(figures)


def test_mutate_replaces_the_solution_cell_and_cuts_after_the_test(fixture_chapter):
    """Does a mutant notebook end at its exercise's test cell, with the mutant's code in place?"""
    solution = nbformat.read(str(fixture_chapter.solution), as_version=4)
    mutant = fixture_chapter.mutants()[0]
    nb = selftest.mutate(solution, mutant)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert ids[-1] == "ch98_add"
    assert nb.cells[ids.index("ch98_add_solution")].source == mutant.source
