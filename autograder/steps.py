"""The steps that grade one submitted notebook, in order, and the runner that applies them.

A step takes the :class:`Job` and either fills in more of it or raises :class:`StepFailed` with
a sentence for the student's report. Whatever happens, :func:`run` returns a result in which
every graded cell has a score (zero when it could not be earned) and a feedback page exists.
"""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course, screen
from autograder.chapters import GradeCell, cell_grade_id, chapter_number, grade_cells, read_notebook
from autograder.preprocessors import (
    DEAD_KERNEL,
    DURING,
    FORGED_RECEIPT,
    MARK,
    NO_RECEIPT,
    NOT_RUN,
    OUTPUT_CAPPED,
    RESULT_DROPPED,
    STDERR_MOVED,
    UNDONE,
)
from autograder.sandbox import Sandbox
from autograder.validate import shorten

__all__ = ["Job", "StepFailed", "GRADE_STEPS", "run", "write_atomic"]


MAX_ERROR_NOTES = 8
NOTE_LIMIT = 600  # characters of one error message in the notes (cut after a whole sentence)


class StepFailed(Exception):
    """A submission cannot be graded further; the message says why, for the student."""


@dataclass
class Job:
    """Everything about grading one student's one chapter."""

    student: str
    chapter: str
    submission: Path | None  # None: nothing was submitted
    template: Path  # course directory with the chapter's source and gradebook
    work: Path  # private scratch directory for this job
    feedback_path: Path  # where the HTML feedback must end up
    timeout: int = 60
    restore_missing: bool = True
    keep_executed: Path | None = None  # where to copy the executed notebook (self-test, website)
    sandbox: Sandbox | None = None  # None: the kernel runs unconfined (trusted notebooks)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # reasons to review the submission by hand
    expected: list[GradeCell] = field(default_factory=list)
    known_ids: set[str] = field(default_factory=set)  # every nbgrader grade_id in the source
    reference: NotebookNode | None = None  # the chapter's source notebook
    imports: list[str] = field(default_factory=list)  # the chapter's import statements
    test_names: list[str] = field(default_factory=list)  # names its test cells read
    nb: NotebookNode | None = None
    scores: dict[str, float] = field(default_factory=dict)
    nbgrader_feedback: Path | None = None
    errors: list[str] = field(default_factory=list)  # cells that raised, "where: Error: message"
    not_run: list[str] = field(default_factory=list)  # graded cells never run (the kernel had died)
    status: str = "pending"

    def result(self) -> dict:
        """Return the JSON-able outcome: one row per expected graded cell, plus the notes."""
        cells = []
        for cell in self.expected:
            score = self.scores.get(cell.grade_id)
            if score is None and cell.auto:
                score = 0.0
            cells.append(
                {"grade_id": cell.grade_id, "score": score, "max": cell.points, "auto": cell.auto}
            )
        return {
            "student": self.student,
            "chapter": self.chapter,
            "status": self.status,
            "notes": self.notes,
            "flags": self.flags,
            "errors": self.errors,
            "not_run": self.not_run,
            "cells": cells,
            "feedback": str(self.feedback_path),
        }


def load_expected(job: Job) -> None:
    """Read the chapter's graded cells from the instructor's source (the reference for scores)."""
    source = read_notebook(job.template / "source" / job.chapter / f"{job.chapter}.ipynb")
    job.expected = grade_cells(source)
    job.known_ids = {cell_grade_id(cell) for cell in source.cells} - {None}
    job.reference = source
    job.imports = screen.chapter_imports(source)
    job.test_names = screen.test_names(source)


def read_submission(job: Job) -> None:
    """Read the submitted notebook; a missing, corrupted or truncated file ends grading here."""
    if job.submission is None:
        raise StepFailed("no notebook submitted for this chapter")
    try:
        job.nb = read_notebook(job.submission)
    except ValueError as exc:
        raise StepFailed(f"{job.submission.name} is {exc}") from None


def check_chapter(job: Job) -> None:
    """Make sure the notebook is this chapter's (its grade ids name the chapter)."""
    number = chapter_number(job.nb)
    if number is None:
        raise StepFailed(
            f"{job.submission.name} has no nbgrader cells: it is not a course notebook"
        )
    if number != job.chapter[:2]:
        raise StepFailed(
            f"{job.submission.name} holds chapter {number}'s cells, not {job.chapter}'s"
        )


def inspect_cells(job: Job) -> None:
    """Note deleted, edited and duplicated test cells (nbgrader restores them when grading)."""
    seen: dict[str, int] = {}
    submitted: dict[str, str] = {}
    for cell in job.nb.cells:
        grade_id = cell_grade_id(cell)
        if grade_id:
            seen[grade_id] = seen.get(grade_id, 0) + 1
            submitted.setdefault(grade_id, cell.source.strip())
    for cell in job.expected:
        if not cell.auto:
            continue
        visible, hidden, _ = cell.source.partition("### BEGIN HIDDEN TESTS")
        visible = visible.strip()
        if cell.grade_id not in submitted:
            job.notes.append(
                f"{cell.grade_id}: test cell was deleted; restored from the source and graded"
            )
        elif not (
            submitted[cell.grade_id] == visible
            or (hidden and submitted[cell.grade_id].startswith(visible))
        ):
            job.notes.append(
                f"{cell.grade_id}: test cell was edited; the original was restored and graded"
            )
    for grade_id, count in seen.items():
        if count > 1:
            job.notes.append(f"{grade_id}: cell appears {count} times; the last copy was graded")


def deduplicate(job: Job) -> None:
    """Keep nbgrader metadata on the last copy of a duplicated cell only.

    nbgrader's own DeduplicateIds leaves an empty ``nbgrader`` dict behind, which its OverwriteCells
    then trips over; removing the key makes the earlier copies plain cells.
    """
    last = {cell_grade_id(cell): index for index, cell in enumerate(job.nb.cells)}
    for index, cell in enumerate(job.nb.cells):
        grade_id = cell_grade_id(cell)
        if grade_id and last[grade_id] != index:
            del cell.metadata["nbgrader"]


def drop_unknown_ids(job: Job) -> None:
    """Make cells with a grade_id the assignment does not have into plain cells.

    Such cells come from another chapter or another version of this one. nbgrader deletes their
    grade_id but keeps the rest of their metadata, and then fails on them; plain cells still run.
    """
    for cell in job.nb.cells:
        grade_id = cell_grade_id(cell)
        if grade_id and grade_id not in job.known_ids:
            del cell.metadata["nbgrader"]
            job.notes.append(f"{grade_id}: not a cell of this assignment; run as an ordinary cell")


def screen_code(job: Job) -> None:
    """Flag for review each construct of the student's code that could change how tests run."""
    job.flags += [str(finding) for finding in screen.screen(job.nb, job.reference)]


def stage(job: Job) -> None:
    """Lay out a private nbgrader course with this one submission in it."""
    root = job.work / "course"
    course.copy_course(job.template, root, job.chapter)
    target = root / "submitted" / job.student / job.chapter / f"{job.chapter}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(job.nb, str(target))


def autograde(job: Job) -> None:
    """Run nbgrader's autograde (restores locked cells, executes with per-cell timeouts)."""
    api = course.make_api(
        job.work / "course",
        timeout=job.timeout,
        restore_missing=job.restore_missing,
        sandbox=job.sandbox,
        scratch=job.work / "kernel",
        guard_imports=job.imports,
        guard_names=job.test_names,
    )
    try:
        course.autograde(api, job.chapter, job.student)
    except course.NbgraderError as exc:
        raise StepFailed(f"the autograder could not run this notebook: {exc}") from None
    job.scores = course.scores(job.work / "course", job.chapter, job.student)


def _graded_path(job: Job) -> Path:
    """Where nbgrader writes the executed (autograded) copy of the submission."""
    return job.work / "course" / "autograded" / job.student / job.chapter / f"{job.chapter}.ipynb"


def note_execution(job: Job) -> None:
    """Add a report line for each timeout, dead kernel, capped output and ignored stderr."""
    nb = nbformat.read(str(_graded_path(job)), as_version=4)
    not_run = 0
    failed: list[str] = []
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):  # numbered as Jupyter's "Run All" does
        grade_id = cell_grade_id(cell)
        where = grade_id or f"cell [{number}]"
        marks = cell.get("metadata", {}).get(MARK, {})
        if marks.get(DEAD_KERNEL):
            job.notes.append(
                f"{where}: the kernel died here (crash or out of memory); later cells score 0"
            )
        if marks.get(NOT_RUN):
            not_run += 1
            if grade_id:
                job.not_run.append(grade_id)
        if marks.get(OUTPUT_CAPPED):
            job.notes.append(f"{where}: output was too large and was cut")
        if marks.get(STDERR_MOVED):
            job.notes.append(f"{where}: wrote to stderr (warnings?); not counted against you")
        job.flags += _guard_flags(where, marks)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for output in errors:
            if output.get("ename") in {"CellTimeoutError", "KeyboardInterrupt"}:
                note = f"{where}: stopped after the {job.timeout} s time limit per cell"
                if note not in job.notes:
                    job.notes.append(note)
            elif output.get("ename") != "KernelDied":
                evalue = shorten(str(output.get("evalue", "")), NOTE_LIMIT)
                failed.append(f"{where}: {output.get('ename')}: {evalue}")
    if not_run:
        job.notes.append(f"{not_run} cells after the kernel died were not run")
    job.errors = failed
    job.notes += failed[:MAX_ERROR_NOTES]
    if len(failed) > MAX_ERROR_NOTES:
        job.notes.append(f"... and {len(failed) - MAX_ERROR_NOTES} more cells raised errors")


def _guard_flags(where: str, marks: dict) -> list[str]:
    """Review reasons from what the guard reported for one test cell (autograder.preprocessors)."""
    flags = []
    if marks.get(NO_RECEIPT):
        flags.append(
            f"{where}: scored 0: the test's code did not run to its end "
            "(the notebook changes how cells run)"
        )
    if marks.get(DURING):
        flags.append(
            f"{where}: scored 0: changed while the test ran: {'; '.join(marks[DURING][:4])}"
        )
    if marks.get(UNDONE):
        flags.append(
            f"{where}: the grader undid, before the test: {'; '.join(marks[UNDONE][:4])}"
            + (f" (and {len(marks[UNDONE]) - 4} more)" if len(marks[UNDONE]) > 4 else "")
        )
    if marks.get(FORGED_RECEIPT):
        flags.append(f"{where}: an output imitated the grader's receipt")
    if marks.get(RESULT_DROPPED):
        flags.append(f"{where}: the test cell produced a value (nbgrader partial credit); ignored")
    return flags


def nbgrader_feedback(job: Job) -> None:
    """Render nbgrader's HTML feedback for the graded notebook."""
    root = job.work / "course"
    api = course.make_api(
        root, timeout=job.timeout, highlights=course.highlight_file(root, job.chapter)
    )
    try:
        job.nbgrader_feedback = course.feedback(api, job.chapter, job.student)
    except course.NbgraderError as exc:
        job.notes.append(
            f"feedback page could not be rendered by nbgrader ({str(exc).splitlines()[0]})"
        )


GRADE_STEPS: list[Callable[[Job], None]] = [
    load_expected,
    read_submission,
    check_chapter,
    inspect_cells,
    deduplicate,
    drop_unknown_ids,
    screen_code,
    stage,
    autograde,
    note_execution,
    nbgrader_feedback,
]
"""Order matters: cells are inspected before they are deduplicated and before nbgrader restores
them; the screen reads the cells that will run; notes need the executed copy
(tests/autograder/test_steps.py checks the order)."""


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _banner(job: Job) -> str:
    result = job.result()
    auto = [c for c in result["cells"] if c["auto"]]
    got = sum(c["score"] for c in auto)
    total = sum(c["max"] for c in auto)
    items = "".join(f"<li>{html.escape(note)}</li>" for note in job.notes)
    flags = "".join(f"<li>{html.escape(flag)}</li>" for flag in job.flags)
    flagged = (
        '<div style="border:2px solid #c00;padding:8px;margin:8px;font-family:sans-serif">'
        "<h2>Flagged for review</h2><p>This notebook contains code that can change how the "
        "grader's tests run. An instructor will look at it.</p>"
        f"<ul>{flags}</ul></div>"
        if flags
        else ""
    )
    return flagged + (
        '<div style="border:2px solid #888;padding:8px;margin:8px;font-family:sans-serif">'
        f"<h2>{html.escape(job.chapter)}: {got:g} / {total:g} autograded points</h2>"
        f"<p>Student: {html.escape(job.student)}. Status: {html.escape(job.status)}.</p>"
        + (f"<ul>{items}</ul>" if items else "")
        + "</div>"
    )


def write_feedback(job: Job) -> None:
    """Write the feedback page: nbgrader's, with a summary on top, or the summary alone."""
    banner = _banner(job)
    if job.nbgrader_feedback is not None and job.nbgrader_feedback.exists():
        page = job.nbgrader_feedback.read_text(encoding="utf-8")
        marker = page.find("<body")
        cut = page.find(">", marker) + 1 if marker >= 0 else 0
        page = page[:cut] + banner + page[cut:]
    else:
        page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(job.chapter)}</title></head><body>{banner}</body></html>"
    write_atomic(job.feedback_path, page)


def run(job: Job, steps: list[Callable[[Job], None]] = GRADE_STEPS) -> dict:
    """Apply ``steps`` in order; stop at the first failure; always write feedback; return the result."""
    job.work.mkdir(parents=True, exist_ok=True)
    try:
        for step in steps:
            step(job)
        job.status = "graded"
    except StepFailed as exc:
        job.status = "not graded"
        job.notes.insert(0, str(exc))
    except Exception as exc:  # an autograder bug must not lose the student's row
        job.status = "error"
        job.notes.insert(0, f"internal autograder error: {type(exc).__name__}: {exc}")
    finally:
        write_feedback(job)
        graded = _graded_path(job)
        if job.keep_executed is not None and graded.exists():
            job.keep_executed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(graded, job.keep_executed)
        shutil.rmtree(job.work / "course", ignore_errors=True)
        shutil.rmtree(job.work / "kernel", ignore_errors=True)
    return job.result()
