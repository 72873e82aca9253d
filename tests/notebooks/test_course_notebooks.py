"""Every chapter in solutions/: the self-test holds, it runs in fast mode, and notebooks/ is in sync.

One ``python -m autograder selftest --json`` run (the session fixture ``course_selftest``) grades
each chapter's solution (which executes the whole notebook top to bottom in fast mode), its release
and its mutants; the tests read its figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.chapters import is_grade

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.stem for p in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
# Minimum autograded exercises and written questions per chapter, from the issues.
MIN_EXERCISES = {
    "00_setup": 2,
    "01_tensors": 10,
    "02_autograd": 10,
    "03_mlp": 10,
    "04_cnn": 12,
    "05_rnn": 12,
    "06_transfer": 10,
    "07_autoencoders": 10,
    "08_gan": 10,
}
MIN_WRITTEN = {"00_setup": 1, "01_tensors": 2}  # others: 3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def selftest(course_selftest) -> dict:
    return course_selftest


def test_there_are_chapters():
    """Is there at least the foundation's pair of chapters?"""
    assert {"00_setup", "01_tensors"} <= set(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_selftest_holds(selftest, chapter):
    """Solution full marks, release zero, every mutant killed, no leaks, no failing cell?"""
    figures = selftest["chapters"][chapter]
    assert figures["problems"] == [] and figures["leaks"] == [], (
        figures["problems"] + figures["leaks"]
    )
    assert figures["solution_score"] == figures["max_score"] > 0
    assert figures["release_score"] == 0
    assert figures["mutants_killed"] == figures["mutants"] >= figures["exercises"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_enough_exercises(selftest, chapter):
    """Does the chapter have the autograded exercises and written questions it promises?"""
    figures = selftest["chapters"][chapter]
    assert figures["exercises"] >= MIN_EXERCISES.get(chapter, 8)
    assert figures["written"] >= MIN_WRITTEN.get(chapter, 3)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_release_fails_only_in_exercise_cells(selftest, chapter):
    """Does every lesson cell of the untouched student notebook run while the exercises are stubs?"""
    assert selftest["chapters"][chapter]["release_lesson_errors"] == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_mutants_are_killed_by_checks(selftest, chapter):
    """Does every mutant lose points on a failed check, none stale or crashed?"""
    details = selftest["chapters"][chapter]["mutant_details"]
    assert details and all(m["verdict"] == "killed" for m in details), [
        f"{m['name']}: {m['verdict']}: {m['detail']}" for m in details if m["verdict"] != "killed"
    ]


def test_selftest_command_exits_zero(selftest):
    """Does `python -m autograder selftest` exit 0 for all chapters together?"""
    assert selftest["rc"] == 0, selftest["stdout"][-3000:]


def test_release_check_passes(repo):
    """Is notebooks/ exactly what `release` generates, with nothing leaked?"""
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "release", "--check"],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_release_check_of_two_chapters_checks_only_those(repo):
    """Does `release --check 00 01` check those two chapters and leave the others alone?"""
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "release", "--check", "00", "01"],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK (2 chapters)" in proc.stdout and "no solutions/" not in proc.stdout


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_is_committed_stripped(chapter):
    """Is the source notebook free of outputs and execution counts, with a python3 kernelspec?"""
    nb = nbformat.read(str(REPO / "solutions" / f"{chapter}.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "jupytext" not in nb.metadata


HARD_CODED = (".cuda(", '.to("cuda"', 'device="cuda"', 'torch.device("cuda")')


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_hard_coded_cuda(chapter):
    """Do lesson and solution cells leave the device choice to course_lib.devices?

    Test cells may name a device for a mocked check (nothing runs there); everything else must
    not pick CUDA by hand.
    """
    nb = nbformat.read(str(REPO / "solutions" / f"{chapter}.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_grade(cell):
            found = [pattern for pattern in HARD_CODED if pattern in cell.source]
            assert not found, f"{found} in: {cell.source[:200]}"
