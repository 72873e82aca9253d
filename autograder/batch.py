"""Grade a class on dask.distributed, resuming earlier runs; write every output from the client.

Interim module (issue 15, phase A): this is what ``grade.grade_class`` becomes once the sandboxed
grader (issue 14) has landed; it then moves there and this file goes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from distributed import Client

from autograder import cluster, course, report
from autograder.chapters import Chapter
from autograder.grade import SAFE_NAME, Options, locate
from autograder.manifest import Manifest, task_key
from autograder.runner import Graded, Result, Task, Template
from autograder.steps import write_atomic

__all__ = ["build_tasks", "build_templates", "feedback_path", "grade_class", "grades_csv"]

CSV_FIELDS = ["student", "chapter", "grade_id", "score", "max"]


def build_tasks(class_dir: Path, chapters: list[Chapter]) -> tuple[list[Task], list[str]]:
    """One task per student folder and chapter, the notebook read into it; and skipped folders."""
    if not class_dir.is_dir():
        raise FileNotFoundError(f"class folder {class_dir} does not exist")
    folders = sorted(p for p in class_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    tasks = []
    for folder in folders:
        if not SAFE_NAME.match(folder.name):
            continue
        located = locate(folder, chapters)
        for chapter in chapters:
            path = located.notebooks.get(chapter.name)
            tasks.append(
                Task(
                    student=folder.name,
                    chapter=chapter.name,
                    submission=path.read_bytes() if path is not None else None,
                    name=str(path.relative_to(folder)) if path is not None else "",
                    notes=tuple(located.notes.get(chapter.name, [])),
                )
            )
    return tasks, [p.name for p in folders if not SAFE_NAME.match(p.name)]


def build_templates(chapters: list[Chapter]) -> dict[str, Template]:
    """Each chapter's private nbgrader files, generated once here and shipped with the tasks."""
    with tempfile.TemporaryDirectory(prefix="autograder-template-") as tmp:
        course.build_course(Path(tmp), chapters)
        return {c.name: Template.from_course(Path(tmp), c.name) for c in chapters}


def feedback_path(out_dir: Path, student: str, chapter: str) -> Path:
    return out_dir / "feedback" / student / f"{chapter}.html"


def grades_csv(results: Iterable[Result]) -> str:
    """``grades.csv``'s text: one row per student, chapter and graded cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        for cell in result.cells:
            writer.writerow(
                {
                    "student": result.student,
                    "chapter": result.chapter,
                    "grade_id": cell.grade_id,
                    "score": "" if cell.score is None else f"{cell.score:g}",
                    "max": f"{cell.max:g}",
                }
            )
    return buffer.getvalue()


def format_report(results: list[Result], skipped: Iterable[str] = ()) -> str:
    """A line per student and chapter with its notes, then the class summary."""
    lines = []
    for r in results:
        extra = f" (+{r.manual_max:g} to grade by hand)" if r.manual_max else ""
        flagged = " FLAGGED FOR REVIEW" if r.flags else ""
        lines.append(
            f"{r.student} {r.chapter}: {r.auto_score:g}/{r.auto_max:g}{extra} [{r.status}]{flagged}"
        )
        lines += [f"    ! {flag}" for flag in r.flags]
        lines += [f"    - {note}" for note in r.notes]
    lines += [f"skipped folder {name!r}: not a usable student id" for name in skipped]
    return "\n".join(lines) + "\n\n" + report.format_summary(results)


def grade_class(
    class_dir: Path,
    out_dir: Path,
    chapters: list[Chapter],
    options: Options,
    *,
    address: str | None = None,
    client: Client | None = None,
    fresh: bool = False,
    log: TextIO | None = None,
    progress: bool = False,
) -> list[Result]:
    """Grade every student folder of ``class_dir`` on dask; write OUT's files; return the results.

    ``client``: a client to use (else one on ``address``, else on an embedded cluster). Results
    from an earlier run into ``out_dir`` with the same submission, chapter source and options are
    kept (unless ``fresh``); only the client writes files, each atomically.
    """
    tasks, skipped = build_tasks(class_dir, chapters)
    templates = build_templates(chapters)
    manifest = Manifest(out_dir / "manifest.json") if fresh else Manifest.load(out_dir)
    keys = [task_key(t, templates[t.chapter].digest, options) for t in tasks]
    results: list[Result | None] = [
        manifest.cached(t, k, feedback_path(out_dir, t.student, t.chapter))
        for t, k in zip(tasks, keys, strict=True)
    ]
    todo = [i for i, r in enumerate(results) if r is None]
    console = log or sys.stdout
    if len(todo) < len(tasks):
        print(
            f"resuming {out_dir}: {len(tasks) - len(todo)} notebooks already graded with the same "
            f"content and options; grading {len(todo)}",
            file=console,
        )
    key_of = {(tasks[i].student, tasks[i].chapter): keys[i] for i in todo}

    def done(graded: Graded) -> None:
        r = graded.result
        write_atomic(feedback_path(out_dir, r.student, r.chapter), graded.feedback)
        manifest.record(r, key_of[(r.student, r.chapter)])
        manifest.save(force=False)

    if todo:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(
                    cluster.connect(address, options.workers, options.device)
                )
            link = cluster.dashboard(client)
            if link:
                print(f"dask dashboard: {link}", file=console)
            outcomes = cluster.run_tasks(
                client, [tasks[i] for i in todo], templates, options, done=done, progress=progress
            )
        for i, graded in zip(todo, outcomes, strict=True):
            results[i] = graded.result
    manifest.save()
    final = [r for r in results if r is not None]
    write_atomic(out_dir / "grades.csv", grades_csv(final))
    write_atomic(out_dir / "grades_wide.csv", report.wide_csv(final))
    text = format_report(final, skipped)
    write_atomic(out_dir / "report.txt", text)
    write_atomic(out_dir / "report.html", report.render_html(final, f"Grades: {class_dir.name}"))
    if log is not None:
        log.write(text)
    return final
