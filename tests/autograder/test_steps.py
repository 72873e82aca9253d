"""The grading pipeline's order and its failure handling."""

from __future__ import annotations

from pathlib import Path

from autograder import steps


def _pos(step) -> int:
    return steps.GRADE_STEPS.index(step)


def test_cells_are_inspected_before_deduplication_and_restoration():
    """Are edits and duplicates noted before anything changes the submission?"""
    assert _pos(steps.read_submission) < _pos(steps.check_chapter) < _pos(steps.inspect_cells)
    assert (
        _pos(steps.inspect_cells)
        < _pos(steps.deduplicate)
        < _pos(steps.stage)
        < _pos(steps.autograde)
    )


def test_the_screen_reads_the_cells_that_will_run():
    """Is the code screened after duplicates and foreign cells are settled, before it runs?"""
    assert _pos(steps.drop_unknown_ids) < _pos(steps.screen_code) < _pos(steps.stage)


def test_execution_notes_and_feedback_come_after_autograding():
    """Are notes read from the executed notebook, and feedback rendered last?"""
    assert _pos(steps.autograde) < _pos(steps.note_execution) < _pos(steps.nbgrader_feedback)
    assert steps.GRADE_STEPS[-1] is steps.nbgrader_feedback


def test_a_failing_step_still_writes_feedback_and_zero_scores(fixture_solutions, tmp_path):
    """When grading cannot go on, does the job still produce a row per cell and a page?"""
    template = tmp_path / "template"
    (template / "source" / "98_fixture").mkdir(parents=True)
    (template / "source" / "98_fixture" / "98_fixture.ipynb").write_bytes(
        (fixture_solutions / "98_fixture.ipynb").read_bytes()
    )
    job = steps.Job(
        "zoe", "98_fixture", None, template, tmp_path / "work", tmp_path / "fb" / "98.html"
    )
    result = steps.run(job)
    assert result["status"] == "not graded"
    assert [c["score"] for c in result["cells"] if c["auto"]] == [0.0, 0.0]
    assert "no notebook submitted" in Path(result["feedback"]).read_text()


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    """Does an atomic write leave exactly the target file?"""
    steps.write_atomic(tmp_path / "a" / "grades.csv", "x\n")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["grades.csv"]
