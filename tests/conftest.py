"""Shared fixtures: the repository root, the course's interpreter, and one self-test of all chapters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p.stem for p in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


@pytest.fixture(scope="session")
def course_selftest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run `python -m autograder selftest` once on every chapter, offline and in fast mode.

    Grading each solution executes it top to bottom; the executed notebooks are kept for the
    tests that read their outputs. Returns the JSON figures plus ``rc``, ``stdout`` and
    ``executed`` (the folder of executed solution notebooks, ``<chapter>.ipynb``).
    """
    base = tmp_path_factory.mktemp("selftest")
    out, executed = base / "selftest.json", base / "executed"
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_FAST": "1"}
    cmd = [sys.executable, "-m", "autograder", "selftest", "--json", str(out)]
    proc = subprocess.run(
        [*cmd, "--executed", str(executed), *CHAPTERS],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=2400,
    )
    print(proc.stdout[-5000:], proc.stderr[-2000:])
    assert out.exists(), proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    return {"rc": proc.returncode, "stdout": proc.stdout, "executed": executed, **figures}
