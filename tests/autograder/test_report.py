"""The class report and grades_wide.csv, from results made up to show each case."""

from __future__ import annotations

import base64
import csv
import io
import re

from autograder import report
from autograder.runner import GRADED, INFRASTRUCTURE, NOT_GRADED, CellScore, Result


def _result(student, chapter, scores, status=GRADED, notes=(), flags=(), written=None):
    """A result with autograded cells ``grade_id -> (score, max)`` and one written answer."""
    cells = [CellScore(g, s, m, True) for g, (s, m) in scores.items()]
    cells.append(CellScore(f"ch{chapter[:2]}_q", written, 2.0, False))
    return Result(student, chapter, status, cells, list(notes), list(flags))


def _class() -> list[Result]:
    ch = "01_tensors"
    return [
        _result("ann", ch, {"ch01_easy": (1, 1), "ch01_hard": (3, 3)}),
        _result("bea", ch, {"ch01_easy": (1, 1), "ch01_hard": (0, 3)}, flags=["cell [4]: patch"]),
        _result("cid", ch, {"ch01_easy": (1, 1), "ch01_hard": (1.5, 3)}, written=2.0),
        _result(
            "dov",
            ch,
            {"ch01_easy": (0, 1), "ch01_hard": (0, 3)},
            NOT_GRADED,
            ["no notebook submitted for this chapter"],
        ),
        _result(
            "eli",
            ch,
            {"ch01_easy": (0, 1), "ch01_hard": (0, 3)},
            INFRASTRUCTURE,
            ["infrastructure failure: every worker that ran it died"],
        ),
        _result("ann", "02_autograd", {"ch02_grad": (2, 2)}),
    ]


def test_exercises_are_ranked_hardest_first_over_graded_submissions():
    """Are pass rates and means computed over graded submissions only, hardest exercise first?"""
    first = report.summarize(_class())[0]
    assert first.chapter == "01_tensors" and first.max == 4 and first.manual_max == 2
    assert [e.grade_id for e in first.exercises] == ["ch01_hard", "ch01_easy"]
    hard = first.exercises[0]
    assert (hard.attempts, hard.passed, hard.mean) == (3, 1, 1.5)
    assert [r.student for r in first.not_graded] == ["dov", "eli"]
    assert [r.student for r in first.flagged] == ["bea"]
    assert first.awaiting_manual == 2  # ann's and bea's answers; cid's was scored


def test_text_summary_names_what_needs_a_human():
    """Does the text summary give the spread, the pass rates and each flagged or lost notebook?"""
    text = report.format_summary(_class())
    assert "== 01_tensors: 5 students, 3 graded, 2 not graded, 1 flagged for review" in text
    assert "ch01_hard" in text and "passed by 1/3 (33%)" in text
    assert "FLAGGED bea: cell [4]: patch" in text
    assert f"NOT GRADED eli [{INFRASTRUCTURE}]: infrastructure failure" in text
    assert "ann: 6/6" in text  # course totals, two chapters


def test_wide_csv_has_one_row_per_student_and_one_column_per_cell():
    """Is grades_wide.csv one row per student, one column per graded cell, with totals?"""
    rows = list(csv.reader(io.StringIO(report.wide_csv(_class()))))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header == [
        "student",
        "ch01_easy",
        "ch01_hard",
        "ch01_q",
        "ch02_grad",
        "ch02_q",
        "01_tensors total",
        "02_autograd total",
        "total",
        "review",
    ]
    assert sorted(body) == ["ann", "bea", "cid", "dov", "eli"]
    assert body["ann"]["total"] == "6" and body["ann"]["ch01_q"] == ""
    assert body["cid"]["ch01_hard"] == "1.5" and body["cid"]["ch01_q"] == "2"
    assert body["bea"]["02_autograd total"] == "" and body["bea"]["review"] == "01_tensors flagged"
    assert body["eli"]["review"] == f"01_tensors {INFRASTRUCTURE}"


def test_html_report_is_one_self_contained_page_with_charts():
    """Does report.html embed its charts as images and link each student's feedback page?"""
    page = report.render_html(_class(), "Grades", warnings=["graded WITHOUT a sandbox"])
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4  # per chapter: histogram and exercise chart
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from a server
    assert 'href="feedback/bea/01_tensors.html"' in page
    assert "graded WITHOUT a sandbox" in page and "cell [4]: patch" in page
    assert "every worker that ran it died" in page
