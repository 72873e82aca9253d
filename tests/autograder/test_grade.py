"""Grading a class in which every kind of bad submission appears."""

from __future__ import annotations

import csv

import pytest

FULL = {"ch98_add": 1.0, "ch98_hypot": 2.0}


def _scores(result: dict) -> dict[str, float]:
    return {c["grade_id"]: c["score"] for c in result["cells"] if c["auto"]}


def test_every_student_has_a_complete_gradebook_row_set(graded_class):
    """Does grades.csv hold one row per student and graded cell, even for broken submissions?"""
    students, _, out, _ = graded_class
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == ["student", "chapter", "grade_id", "score", "max", "flagged"]
    assert {r["student"] for r in rows} == set(students)
    for student in students:
        ids = sorted(r["grade_id"] for r in rows if r["student"] == student)
        assert ids == ["ch98_add", "ch98_hypot", "ch98_q_hidden"], student


def test_every_student_gets_a_feedback_page(graded_class):
    """Is there one feedback HTML per student and notebook, with the score on top?"""
    students, results, out, _ = graded_class
    for student in students:
        page = (out / "feedback" / student / "98_fixture.html").read_text()
        assert "autograded points" in page and student in page


@pytest.mark.parametrize(
    ("student", "expected", "note"),
    [
        ("ada", FULL, None),
        ("bob", {"ch98_add": 0, "ch98_hypot": 0}, "NotImplementedError"),
        ("cat", {"ch98_add": 0, "ch98_hypot": 0}, "not a readable notebook"),
        ("dan", {"ch98_add": 0, "ch98_hypot": 0}, "not a readable notebook"),
        ("eve", {"ch98_add": 0, "ch98_hypot": 0}, "no notebook submitted"),
        ("fay", FULL, "renamed"),
        ("gus", FULL, "test cell was deleted"),
        ("hal", {"ch98_add": 0, "ch98_hypot": 2}, "test cell was edited"),
        ("ivy", FULL, "appears 2 times"),
        ("jon", {"ch98_add": 0, "ch98_hypot": 2}, "time limit"),
        ("kim", {"ch98_add": 1, "ch98_hypot": 0}, "kernel died"),
        ("lee", FULL, "output was too large"),
        ("max", FULL, "stderr"),
        ("nia", FULL, "not a cell of this assignment"),
    ],
)
def test_each_bad_input_gets_a_fair_score_and_a_clear_note(graded_class, student, expected, note):
    """Does each kind of submission score what it earned, with a line saying what happened?"""
    _, results, _, log = graded_class
    assert _scores(results[student]) == expected, results[student]["notes"]
    if note is not None:
        assert any(note in line for line in results[student]["notes"]), results[student]["notes"]
        assert note in log


def test_bad_input_is_not_cheating(graded_class):
    """Are broken but honest submissions graded without being flagged for review?"""
    _, results, out, _ = graded_class
    assert {s: r["flags"] for s, r in results.items() if r["flags"]} == {}
    assert "FLAGGED" not in (out / "report.txt").read_text()


def test_an_untouched_written_answer_scores_zero_and_an_answered_one_waits_for_a_human(
    graded_class,
):
    """Are written answers left for manual grading, except untouched ones (zero)?"""
    _, results, _, _ = graded_class
    manual = {
        r: next(c for c in results[r]["cells"] if not c["auto"])["score"] for r in ("ada", "bob")
    }
    assert manual == {"ada": None, "bob": 0.0}


def test_grade_command_writes_the_gradebook_and_feedback(
    fixture_solutions, fixture_release, tmp_path
):
    """Does `grade DIR --out OUT --sandbox none` grade a small class, saying what it lacks?"""
    import shutil
    import subprocess
    import sys

    for student in ("amy", "ben"):
        (tmp_path / "class" / student).mkdir(parents=True)
    shutil.copy(fixture_solutions / "98_fixture.ipynb", tmp_path / "class" / "amy")
    (tmp_path / "class" / "ben" / "98_fixture.ipynb").write_text("{not json")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "--solutions",
            str(fixture_solutions),
            "grade",
            str(tmp_path / "class"),
            "--out",
            str(out),
            "--workers",
            "2",
            "--timeout",
            "20",
            "--sandbox",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = (out / "grades.csv").read_text().splitlines()
    assert "amy,98_fixture,ch98_hypot,2,2," in rows and "ben,98_fixture,ch98_hypot,0,2," in rows
    assert "graded WITHOUT a sandbox (--sandbox none was asked for)" in proc.stderr
    assert "can reach the network" in (out / "report.txt").read_text()
    assert (out / "feedback" / "amy" / "98_fixture.html").exists() and (
        out / "feedback" / "ben" / "98_fixture.html"
    ).exists()
    assert "not a readable notebook" in proc.stdout


def test_grade_command_refuses_cuda_without_a_gpu(fixture_solutions, tmp_path):
    """Does asking for CUDA on a machine without it give a clear error instead of zero grades?"""
    import subprocess
    import sys

    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    (tmp_path / "class").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "--solutions",
            str(fixture_solutions),
            "grade",
            str(tmp_path / "class"),
            "--device",
            "cuda",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "CUDA is not available" in proc.stderr


def test_parallel_kernels_share_the_cores(monkeypatch):
    """Do N grading workers get cores // N threads each, so they never oversubscribe the CPU?"""
    import os

    from autograder import grade

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert grade.Options(workers=4).kernel_env()["OMP_NUM_THREADS"] == "2"
    assert grade.Options(workers=16).kernel_env()["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert grade.Options(workers=4).kernel_env()["OMP_NUM_THREADS"] == "3"
