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
    assert rows and list(rows[0]) == ["student", "chapter", "grade_id", "score", "max"]
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
    ],
)
def test_each_bad_input_gets_a_fair_score_and_a_clear_note(graded_class, student, expected, note):
    """Does each kind of submission score what it earned, with a line saying what happened?"""
    _, results, _, log = graded_class
    assert _scores(results[student]) == expected, results[student]["notes"]
    if note is not None:
        assert any(note in line for line in results[student]["notes"]), results[student]["notes"]
        assert note in log


def test_an_untouched_written_answer_scores_zero_and_an_answered_one_waits_for_a_human(
    graded_class,
):
    """Are written answers left for manual grading, except untouched ones (zero)?"""
    _, results, _, _ = graded_class
    manual = {
        r: next(c for c in results[r]["cells"] if not c["auto"])["score"] for r in ("ada", "bob")
    }
    assert manual == {"ada": None, "bob": 0.0}
