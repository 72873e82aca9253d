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


def test_mutants_after_a_kernel_crash_are_rerun_in_isolation(fixture_chapter, tmp_path):
    """When one mutant kills the kernel, are the mutants it took down re-graded on their own?"""
    solutions = tmp_path / "solutions"
    shutil.copytree(fixture_chapter.solution.parent, solutions)
    (solutions / "mutants" / "98_fixture.py").write_text(
        "# %% mutant ch98_add: exits the interpreter\nimport os\nos._exit(1)\n\n\n"
        "# %% mutant ch98_hypot: forgets the square root\ndef hypot(a, b):\n    return a * a + b * b\n"
    )
    chapter = chapters.find_chapters(solutions)[0]
    figures = selftest.selftest_chapter(chapter, grade.Options(timeout=10, workers=2))
    assert figures["mutants_rerun_isolated"] == 2
    assert figures["mutants_killed"] == figures["mutants"] == 2, figures["problems"]


def test_isolated_and_together_modes_agree(fixture_chapter):
    """Do both ways of running mutants find the same mutants killed?"""
    options = grade.Options(timeout=10, workers=2)
    together = selftest.selftest_chapter(fixture_chapter, options)
    isolated = selftest.selftest_chapter(fixture_chapter, options, isolated=True)
    assert together["mutant_details"] == isolated["mutant_details"]
    assert together["mutants_rerun_isolated"] == 0 and isolated["mutants_rerun_isolated"] == 2


def test_together_notebook_restores_the_solution_after_each_exercise(fixture_chapter):
    """Does the combined notebook hold mutant, graded test copy, then the solution again?"""
    solution = nbformat.read(str(fixture_chapter.solution), as_version=4)
    nb = selftest.mutants_together(solution, fixture_chapter.mutants())
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    at = ids.index("ch98_add")
    assert nb.cells[at + 1].source == fixture_chapter.mutants()[0].source
    assert ids[at + 2] == "ch98_add__mutant01"
    assert (
        "return a + b" in nb.cells[at + 3].source
        and "BEGIN SOLUTION" not in nb.cells[at + 3].source
    )
