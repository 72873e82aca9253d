"""The fixture chapter, its release, and a graded fixture class, built once per test session."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fixture_course  # noqa: E402
import hostile_class  # noqa: E402

from autograder import chapters, grade, release, sandbox  # noqa: E402


@pytest.fixture(scope="session")
def fixture_solutions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    solutions = tmp_path_factory.mktemp("course") / "solutions"
    fixture_course.write_chapter(solutions)
    return solutions


@pytest.fixture(scope="session")
def fixture_chapter(fixture_solutions: Path) -> chapters.Chapter:
    return chapters.find_chapters(fixture_solutions)[0]


@pytest.fixture(scope="session")
def fixture_release(
    fixture_chapter: chapters.Chapter, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    notebooks = tmp_path_factory.mktemp("notebooks")
    release.release([fixture_chapter], notebooks)
    return notebooks / f"{fixture_chapter.name}.ipynb"


@pytest.fixture(scope="session")
def graded_class(fixture_chapter, fixture_release, tmp_path_factory):
    """Grade a class with one student per kind of bad input; return (students, results, out dir, log).

    The kernels run in the sandbox where this machine allows one, as ``grade`` runs them.
    """
    root = tmp_path_factory.mktemp("class")
    students = fixture_course.write_class(
        root / "submissions", fixture_release, fixture_chapter.solution
    )
    out = root / "out"
    log = io.StringIO()
    results = grade.grade_class(
        root / "submissions",
        out,
        [fixture_chapter],
        grade.Options(timeout=5, workers=2, sandbox=sandbox.resolve("auto")),
        log=log,
    )
    results = map(hostile_class.as_dict, results)
    return students, {r["student"]: r for r in results}, out, log.getvalue()
