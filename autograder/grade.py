"""Grade a class: ``DIR/<student>/<NN_topic>.ipynb`` -> gradebooks, feedback pages, class report.

:func:`grade_class` sends one task per student and chapter to dask.distributed (an embedded
``LocalCluster`` or a running scheduler, see :mod:`autograder.cluster`); each task carries the
notebook's bytes and the chapter's template and returns the result and the feedback page. Only
this process writes into OUT, each file atomically: ``grades.csv``, ``grades_wide.csv``,
``feedback/``, ``report.txt``, ``report.html`` (:mod:`autograder.report`) and the manifest that
lets a second run into the same OUT grade only new or changed submissions
(:mod:`autograder.manifest`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from autograder import course, report, runner, sandbox, steps
from autograder.chapters import Chapter, chapter_number, read_notebook
from autograder.runner import Graded, Result, Task, Template

__all__ = [
    "CSV_FIELDS",
    "Options",
    "build_tasks",
    "build_templates",
    "chapters_submitted",
    "feedback_path",
    "format_report",
    "grade_class",
    "grades_csv",
    "locate",
    "run_jobs",
    "sandbox_banner",
]

CSV_FIELDS = ["student", "chapter", "grade_id", "score", "max", "flagged"]
SAFE_NAME = re.compile(r"^[\w.@+-]+$")


@dataclass
class Options:
    """How to grade: per-cell timeout, workers, device, fast mode, restoring cells, sandbox, and
    the dask scheduler to send the tasks to.

    ``sandbox`` None grades without one (trusted notebooks: the self-test); ``grade`` resolves
    ``--sandbox auto`` into settings with :func:`autograder.sandbox.resolve`. ``cluster`` None
    grades on an embedded cluster of ``workers`` processes (or at ``$DASK_SCHEDULER_ADDRESS``).
    """

    timeout: int = 60
    workers: int = 1
    device: str | None = None  # None: let course_lib.devices choose
    fast: bool = True
    restore_missing: bool = True
    sandbox: sandbox.Sandbox | None = None
    cluster: str | None = None  # tcp://HOST:8786

    def kernel_env(self) -> dict[str, str]:
        """Environment for the grading kernels: fast mode, no bars, and a share of the CPU each.

        ``workers`` kernels with torch's default of one thread per core would oversubscribe the
        machine; small tensor operations then slow down many times over. Each kernel gets
        ``cores // workers`` threads unless OMP_NUM_THREADS is already set.
        """
        env = {"COURSE_FAST": "1" if self.fast else "0", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
        threads = str(max(1, (os.cpu_count() or 1) // max(1, self.workers)))
        env["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", threads)
        env["MKL_NUM_THREADS"] = os.environ.get("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
        if self.device:
            env["COURSE_DEVICE"] = self.device
        return env

    def wall_limit(self) -> float:
        return max(600.0, 40.0 * self.timeout)


@dataclass
class Located:
    """What was found for one student: chapter -> notebook path, plus notes on renamed files."""

    student: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


def locate(student_dir: Path, chapters: list[Chapter]) -> Located:
    """Find each chapter's notebook: by its exact name, else by the chapter its cells belong to."""
    found = Located(student_dir.name)
    wanted = {c.name: c for c in chapters}
    others = []
    for path in sorted(student_dir.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        if path.stem in wanted and path.parent == student_dir:
            found.notebooks[path.stem] = path
        else:
            others.append(path)
    for path in others:
        try:
            number = chapter_number(read_notebook(path))
        except ValueError:
            continue
        for name in wanted:
            if name[:2] == number and name not in found.notebooks:
                found.notebooks[name] = path
                found.notes.setdefault(name, []).append(
                    f"graded {path.relative_to(student_dir)} as {name}.ipynb (renamed or moved)"
                )
    return found


def chapters_submitted(class_dir: Path, chapters: list[Chapter]) -> list[Chapter]:
    """Return the chapters that some student submitted under their proper name (else all)."""
    names = {p.stem for p in class_dir.glob("*/*.ipynb")}
    picked = [c for c in chapters if c.name in names]
    return picked or chapters


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


def grade_class(
    class_dir: Path,
    out_dir: Path,
    chapters: list[Chapter],
    options: Options,
    log: TextIO | None = None,
    *,
    client=None,
    fresh: bool = False,
    progress: bool = False,
) -> list[Result]:
    """Grade every student folder of ``class_dir`` on dask; write OUT's files; return the results
    (one per student and chapter, in order).

    ``client``: a ``distributed.Client`` to use (else one on ``options.cluster``, else on an
    embedded cluster). Results of an earlier run into ``out_dir`` with the same submission,
    chapter source and options are kept (unless ``fresh``). ``log`` gets the text report and the
    run's messages (resuming, the dashboard's link); ``progress`` shows a bar on stderr.
    """
    from autograder import cluster  # dask's import costs a second: only when grading a class
    from autograder.manifest import Manifest, task_key

    tasks, skipped = build_tasks(class_dir, chapters)
    console = log if log is not None else sys.stdout
    with contextlib.ExitStack() as stack:
        if tasks and client is None:
            client = stack.enter_context(
                cluster.connect(options.cluster, options.workers, options.device)
            )
        # The workers warm up (seconds of imports each) while this process builds the chapter
        # templates. Not in a thread beside the cluster's start: nbgrader changes the working
        # directory while it builds, and a worker started then would inherit that.
        warming = cluster.warm(client) if tasks else []
        templates = build_templates(chapters)
        manifest = Manifest(out_dir / "manifest.json") if fresh else Manifest.load(out_dir)
        keys = [task_key(t, templates[t.chapter].digest, options) for t in tasks]
        results: list[Result | None] = [
            manifest.cached(t, k, feedback_path(out_dir, t.student, t.chapter))
            for t, k in zip(tasks, keys, strict=True)
        ]
        todo = [i for i, r in enumerate(results) if r is None]
        if len(todo) < len(tasks):
            print(
                f"resuming {out_dir}: {len(tasks) - len(todo)} notebooks already graded with the "
                f"same content and options; grading {len(todo)}",
                file=console,
            )
        key_of = {(tasks[i].student, tasks[i].chapter): keys[i] for i in todo}

        def done(graded: Graded) -> None:
            r = graded.result
            steps.write_atomic(feedback_path(out_dir, r.student, r.chapter), graded.feedback)
            manifest.record(r, key_of[(r.student, r.chapter)])
            manifest.save(force=False)

        if todo:
            link = cluster.dashboard(client)
            if link:
                print(f"dask dashboard: {link}", file=console)
            outcomes = cluster.run_tasks(
                client, [tasks[i] for i in todo], templates, options, done=done, progress=progress
            )
            for i, graded in zip(todo, outcomes, strict=True):
                results[i] = graded.result
        del warming
    manifest.save()
    final = [r for r in results if r is not None]
    banner = sandbox_banner(options.sandbox)
    text = banner + format_report(final, skipped)
    steps.write_atomic(out_dir / "grades.csv", grades_csv(final))
    steps.write_atomic(out_dir / "grades_wide.csv", report.wide_csv(final))
    steps.write_atomic(out_dir / "report.txt", text)
    warnings = [] if options.sandbox is not None and options.sandbox.active else [banner]
    steps.write_atomic(
        out_dir / "report.html",
        report.render_html(final, f"Grades: {class_dir.name}", warnings=warnings),
    )
    if log is not None:
        log.write(text)
    return final


def run_jobs(
    jobs: list[steps.Job], options: Options, first: Callable[[steps.Job], bool] | None = None
) -> list[runner.Ran]:
    """Grade prepared jobs on this machine, ``options.workers`` at a time, each in its own
    process (``first`` ones first); results and seconds in job order (the self-test's way: its
    files are already on disk)."""
    return runner.run_jobs(
        jobs, options.kernel_env(), options.workers, options.wall_limit(), first=first
    )


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
                    "flagged": "yes" if result.flags else "",
                }
            )
    return buffer.getvalue()


def sandbox_banner(settings: sandbox.Sandbox | None) -> str:
    """The report's first lines: how the kernels were confined, and loudly what was lacking."""
    if settings is None or not settings.active:
        reason = settings.reason if settings is not None else "not asked for"
        lines = [f"WARNING: graded WITHOUT a sandbox ({reason}). This run had:"]
        lines += [f"  - {line}" for line in sandbox.lacks(settings or sandbox.NO_SANDBOX)]
        lines.append("  Test cells still ran through the guard; the screen still flagged code.")
    else:
        limit = f"{settings.memory / sandbox.GiB:g} GiB" if settings.memory else "no"
        lines = [
            f"sandbox: bwrap ({settings.bwrap}): no network, private files, "
            f"{limit} memory limit, {settings.processes} processes per kernel"
        ]
        lines += [f"  - {line}" for line in sandbox.lacks(settings)]
    return "\n".join(lines) + "\n\n"


def format_report(results: list[Result], skipped: Iterable[str] = ()) -> str:
    """The text report: a line per student and chapter with its flags and notes, then the class
    summary (per chapter: spread, exercises hardest first, what needs a human; totals)."""
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
