"""Every chapter in solutions/: the self-test holds, it runs in fast mode, and notebooks/ is in sync.

One ``python -m autograder selftest --json`` run grades each chapter's solution (which executes the
whole notebook top to bottom in fast mode), its release and its mutants; the tests read its figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.stem for p in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
# Minimum autograded exercises per chapter, from the issues (other chapters: DESIGN's 8).
MIN_EXERCISES = {"00_setup": 2, "01_tensors": 10, "02_autograd": 10, "03_mlp": 10, "04_cnn": 12}
MIN_WRITTEN = {"00_setup": 1, "01_tensors": 2, "02_autograd": 3, "03_mlp": 3, "04_cnn": 3}
FAST_BUDGET_S = 60

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def selftest(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("selftest") / "selftest.json"
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_FAST": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "selftest", "--json", str(out), *CHAPTERS],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=1500,
    )
    print(proc.stdout[-5000:], proc.stderr[-2000:])
    assert out.exists(), proc.stdout + proc.stderr
    return {"rc": proc.returncode, "stdout": proc.stdout, **json.loads(out.read_text())}


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
    assert figures["written"] >= MIN_WRITTEN.get(chapter, 2)


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
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
            found = [pattern for pattern in HARD_CODED if pattern in cell.source]
            assert not found, f"{found} in: {cell.source[:200]}"
