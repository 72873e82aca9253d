"""The self-test on the fixture chapter: it passes, and it notices a mutant that survives."""

from __future__ import annotations

import shutil

import nbformat

from autograder import chapters, grade, selftest
from autograder.chapters import cell_grade_id


def test_fixture_chapter_passes_its_selftest(fixture_chapter):
    """Does the solution score full marks, the release zero, and every mutant lose points?"""
    report = selftest.selftest_chapter(fixture_chapter, grade.Options(timeout=10, workers=2))
    assert report.solution_score == report.max_score == 3
    assert report.release_score == 0
    assert len(report.mutants) == report.mutants_killed == 2
    assert report.exercises == 2 and report.written == 1
    assert report.release_lesson_errors == []
    assert report.passed(), report.problems


def test_a_harmless_mutant_fails_the_selftest(fixture_chapter, tmp_path):
    """Does the self-test fail when a 'mutant' is really a correct answer?"""
    solutions = tmp_path / "solutions"
    shutil.copytree(fixture_chapter.solution.parent, solutions)
    (solutions / "mutants" / "98_fixture.py").write_text(
        "# %% mutant ch98_add: adds in the other order (still right)\ndef add(a, b):\n    return b + a\n"
    )
    chapter = chapters.find_chapters(solutions)[0]
    report = selftest.selftest_chapter(chapter, grade.Options(timeout=10, workers=2))
    assert report.mutants_killed == 0
    assert [m.verdict for m in report.mutants] == ["survived"]
    assert any("ch98_hypot: no mutant" in p for p in report.problems)
    assert not report.passed()


def test_mutate_replaces_the_solution_cell_and_cuts_after_the_test(fixture_chapter):
    """Does a mutant notebook end at its exercise's test cell, with the mutant's code in place?"""
    solution = nbformat.read(str(fixture_chapter.solution), as_version=4)
    mutant = fixture_chapter.mutants()[0]
    nb = selftest.mutate(solution, mutant)
    ids = [cell_grade_id(c) for c in nb.cells]
    assert ids[-1] == "ch98_add"
    assert nb.cells[ids.index("ch98_add_solution")].source == mutant.source


def test_mutants_after_a_kernel_crash_are_rerun_in_isolation(fixture_chapter, tmp_path):
    """When one mutant kills the kernel, are the mutants it took down re-graded on their own?"""
    solutions = tmp_path / "solutions"
    shutil.copytree(fixture_chapter.solution.parent, solutions)
    (solutions / "mutants" / "98_fixture.py").write_text(
        "# %% mutant ch98_add: exits the interpreter\nimport os\n\n\n"
        "def add(a, b):\n    return a + b\n\n\nos._exit(1)\n\n\n"
        "# %% mutant ch98_hypot: forgets the square root\ndef hypot(a, b):\n    return a * a + b * b\n"
    )
    chapter = chapters.find_chapters(solutions)[0]
    report = selftest.selftest_chapter(chapter, grade.Options(timeout=10, workers=2))
    assert report.mutants_rerun_isolated == 2
    # the exiting "mutant" is not killed by a check: its isolated run never reaches the test
    verdicts = {m.exercise: m.verdict for m in report.mutants}
    assert verdicts == {"ch98_add": "crashed", "ch98_hypot": "killed"}, report.problems


def test_isolated_and_together_modes_agree(fixture_chapter):
    """Do both ways of running mutants find the same mutants killed?"""
    options = grade.Options(timeout=10, workers=2)
    together = selftest.selftest_chapter(fixture_chapter, options)
    isolated = selftest.selftest_chapter(fixture_chapter, options, isolated=True)
    assert [(m.name, m.verdict) for m in together.mutants] == [
        (m.name, m.verdict) for m in isolated.mutants
    ]
    assert together.mutants_rerun_isolated == 0 and isolated.mutants_rerun_isolated == 2


def test_a_stale_mutant_fails_the_selftest(fixture_chapter, tmp_path):
    """Is a mutant that dies of a NameError (its function was renamed) reported stale, not killed?"""
    solutions = tmp_path / "solutions"
    shutil.copytree(fixture_chapter.solution.parent, solutions)
    (solutions / "mutants" / "98_fixture.py").write_text(
        "# %% mutant ch98_add: subtracts (but defines the old name)\n"
        "def add_numbers(a, b):\n    return a - b\n\n\n"
        "# %% mutant ch98_hypot: takes a third argument the test does not pass\n"
        "def hypot(a, b, c):\n    return a + b + c\n"
    )
    chapter = chapters.find_chapters(solutions)[0]
    for isolated in (False, True):
        report = selftest.selftest_chapter(
            chapter, grade.Options(timeout=10, workers=2), isolated=isolated
        )
        verdicts = [(m.exercise, m.verdict) for m in report.mutants]
        assert verdicts == [("ch98_add", "stale"), ("ch98_hypot", "stale")], report.problems
        assert report.mutants_killed == 0
        assert any("does not define add" in p for p in report.problems)
        assert any("stale" in p and "TypeError" in p for p in report.problems)
        assert not report.passed()


def test_selftest_keeps_the_executed_solution(fixture_chapter, tmp_path):
    """With executed_dir, is the executed solution notebook kept, outputs and all?"""
    selftest.selftest_chapter(
        fixture_chapter, grade.Options(timeout=10, workers=2), executed_dir=tmp_path
    )
    nb = nbformat.read(str(tmp_path / "98_fixture.ipynb"), as_version=4)
    outputs = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert "the end\n" in outputs


def test_lesson_errors_name_only_lesson_cells_by_jupyter_number(fixture_chapter):
    """Are errors in test and answer cells ignored, and a lesson cell numbered among code cells?"""
    nb = nbformat.read(str(fixture_chapter.solution), as_version=4)
    error = nbformat.v4.new_output("error", ename="NameError", evalue="name 'x' is not defined")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [error]
    # code cells: [1] import, [2] add answer, [3] add test, [4] hypot answer, [5] test, [6] print
    assert selftest.lesson_errors(nb) == [
        "cell [1]: NameError: name 'x' is not defined",
        "cell [6]: NameError: name 'x' is not defined",
    ]


def test_together_notebook_restores_the_solution_after_each_exercise(fixture_chapter):
    """Does the combined notebook hold mutant, graded test copy, then the solution again?"""
    solution = nbformat.read(str(fixture_chapter.solution), as_version=4)
    nb = selftest.mutants_together(solution, fixture_chapter.mutants())
    ids = [cell_grade_id(c) for c in nb.cells]
    at = ids.index("ch98_add")
    assert nb.cells[at + 1].source == fixture_chapter.mutants()[0].source
    assert ids[at + 2] == "ch98_add__mutant01"
    assert (
        "return a + b" in nb.cells[at + 3].source
        and "BEGIN SOLUTION" not in nb.cells[at + 3].source
    )


def test_a_lesson_that_waits_for_an_exercise_fails_the_selftest(fixture_chapter, tmp_path):
    """Does a lesson cell that calls an exercise's stub in the release make the self-test fail,
    naming the cell, while one that falls back to a reference passes?"""
    solutions = tmp_path / "solutions"
    shutil.copytree(fixture_chapter.solution.parent, solutions)
    path = solutions / fixture_chapter.solution.name
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print(add(2, 3))"))  # code cell [7]
    nbformat.write(nb, str(path))
    chapter = chapters.find_chapters(solutions)[0]
    report = selftest.selftest_chapter(chapter, grade.Options(timeout=10, workers=2))
    assert report.release_lesson_errors == ["cell [7]: NotImplementedError: "]
    assert any("lesson cell, cell [7]" in p for p in report.problems)
    assert not report.passed()
    nb.cells[-1].source = (
        "from course_lib import grading\n\n"
        "print(grading.with_fallback(add, lambda a, b: a + b)(2, 3))"
    )
    nbformat.write(nb, str(path))
    report = selftest.selftest_chapter(chapter, grade.Options(timeout=10, workers=2))
    assert report.release_lesson_errors == [] and report.passed(), report.problems
