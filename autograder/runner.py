"""The runner layer: typed results, the task a grading worker receives, one job in its own process.

A :class:`Task` carries one student's notebook for one chapter as bytes, and a :class:`Template`
carries the chapter's private nbgrader files, so a worker on another machine needs no shared file
system. :func:`grade_task` lays both out in a scratch folder, grades them with
:func:`run_isolated` (``steps.run`` in a child process, killed past the wall limit) and returns a
:class:`Graded`: the :class:`Result` and the feedback page's HTML. Only the client writes files.
:func:`run_jobs` grades jobs already laid out on this machine (the self-test's) the same way.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import hashlib
import json
import multiprocessing
import multiprocessing.spawn
import os
import signal
import socket
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import nbformat

from autograder.chapters import GradeCell, grade_cells

if TYPE_CHECKING:
    from autograder import grade, steps

__all__ = [
    "CellScore",
    "Result",
    "Task",
    "Template",
    "Graded",
    "Ran",
    "GRADED",
    "NOT_GRADED",
    "ERROR",
    "INFRASTRUCTURE",
    "grade_task",
    "run_isolated",
    "run_jobs",
]

GRADED = "graded"
NOT_GRADED = "not graded"  # the submission could not be graded (missing, corrupt, wrong chapter)
ERROR = "error"  # the grading process died or overran, or an autograder bug
INFRASTRUCTURE = "not graded: infrastructure failure"  # the machine failed, not the notebook
PR_SET_PDEATHSIG = 1
# The parent's main script, for the fork server to import once (autograder.warm): CPython 3.11's
# fork server asks for the key "main_path" where the preparation data says "init_main_from_path",
# so it never imports it, and every grading process ran the script's top level again itself
# (0.2-0.7 s a submission for a script that imports the grader, pytest or dask's CLI).
MAIN_ENV = "AUTOGRADER_FORKSERVER_MAIN"


@dataclass(frozen=True)
class CellScore:
    """One graded cell's outcome. ``score`` is None for a written answer awaiting a human."""

    grade_id: str
    score: float | None
    max: float
    auto: bool  # an autograded test cell (False: a written answer)

    def __getitem__(self, key: str) -> Any:  # read-only dict view, see Result.__getitem__
        return getattr(self, key)


@dataclass
class Result:
    """How one student's one chapter was graded: a score per graded cell, notes and flags."""

    student: str
    chapter: str
    status: str  # GRADED, NOT_GRADED, ERROR or INFRASTRUCTURE
    cells: list[CellScore]
    notes: list[str] = field(default_factory=list)  # what happened, for the student's report
    flags: list[str] = field(default_factory=list)  # reasons to review the submission by hand
    errors: list[str] = field(default_factory=list)  # cells that raised: "where: Error: message"
    not_run: list[str] = field(default_factory=list)  # graded cells never run (dead kernel)

    @property
    def auto_score(self) -> float:
        return sum(c.score or 0 for c in self.cells if c.auto)

    @property
    def auto_max(self) -> float:
        return sum(c.max for c in self.cells if c.auto)

    @property
    def manual_max(self) -> float:
        return sum(c.max for c in self.cells if not c.auto)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def score(self, grade_id: str) -> float | None:
        """The score of one graded cell (KeyError if the chapter has no such cell)."""
        return next(c.score for c in self.cells if c.grade_id == grade_id)

    def to_json(self) -> dict:
        return asdict(self)

    # A read-only dict view (``result["status"]``, ``result.get("errors", [])``) for code that
    # still reads results as the dicts ``steps.Job.result()`` returns (the self-test's steps).
    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in {f.name for f in fields(self)} else default

    @classmethod
    def from_json(cls, data: dict) -> Result:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["cells"] = [CellScore(**c) for c in data["cells"]]
        return cls(**values)


@dataclass(frozen=True)
class Task:
    """One student's submission for one chapter, as bytes (None: nothing was submitted)."""

    student: str
    chapter: str
    submission: bytes | None
    name: str = ""  # the file's path in the student's folder, for notes ("x.ipynb is ...")
    notes: tuple[str, ...] = ()  # found while locating it ("graded hw.ipynb as 01_tensors.ipynb")

    def digest(self) -> str:
        """A hash of everything about the submission that can change its grade."""
        h = hashlib.sha256()
        h.update(b"none" if self.submission is None else self.submission)
        h.update(json.dumps([self.student, self.chapter, self.name, list(self.notes)]).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class Template:
    """A chapter's private nbgrader files (its source, the gradebook and its code highlighted for
    the feedback pages), relative path -> bytes.

    The bytes are zlib-compressed: every task carries its chapter's template (mostly an empty
    SQLite gradebook, which shrinks about tenfold).
    """

    chapter: str
    files: dict[str, bytes]  # compressed
    digest: str  # hash of the chapter's source notebook: its version

    @classmethod
    def from_course(cls, root: Path, chapter: str) -> Template:
        """Read ``chapter``'s files from a course built by :func:`autograder.course.build_course`."""
        from autograder import course

        paths = sorted(p for p in (root / "source" / chapter).rglob("*") if p.is_file())
        files = {str(p.relative_to(root)): zlib.compress(p.read_bytes()) for p in paths}
        files["gradebook.db"] = zlib.compress((root / "gradebook.db").read_bytes())
        highlights = course.highlight_file(root, chapter)
        if highlights.exists():
            files[str(highlights.relative_to(root))] = zlib.compress(highlights.read_bytes())
        source = (root / "source" / chapter / f"{chapter}.ipynb").read_bytes()
        return cls(chapter, files, hashlib.sha256(source).hexdigest())

    def unpack(self, root: Path) -> Path:
        """Write the files under ``root``; return ``root`` (a course folder for ``steps.Job``)."""
        for name, data in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zlib.decompress(data))
        return root

    def expected(self) -> list[GradeCell]:
        """The chapter's graded cells, read from its source."""
        source = zlib.decompress(self.files[f"source/{self.chapter}/{self.chapter}.ipynb"])
        return grade_cells(nbformat.reads(source.decode("utf-8"), as_version=4))

    def failed(self, task: Task, reason: str, status: str = INFRASTRUCTURE) -> Graded:
        """The outcome of a task that could not run: autograded cells score 0, the page says why."""
        from autograder import steps

        with tempfile.TemporaryDirectory(prefix="autograder-failed-") as tmp:
            job = steps.Job(
                student=task.student,
                chapter=task.chapter,
                submission=None,
                template=Path(tmp),
                work=Path(tmp),
                feedback_path=Path(tmp) / "feedback.html",
                notes=[reason, *task.notes],
            )
            job.expected = self.expected()
            job.status = status
            steps.write_feedback(job)
            page = job.feedback_path.read_text(encoding="utf-8")
        return Graded(result_from_job(job.result()), page, 0.0, "")


@dataclass
class Graded:
    """What a grading task returns to the client: the result and the feedback page."""

    result: Result
    feedback: str  # the feedback page's HTML
    seconds: float  # wall time on the worker
    host: str  # which machine graded it


def result_from_job(data: dict) -> Result:
    """Adapter: the dict ``steps.Job.result()`` returns -> a typed :class:`Result`."""
    cells = [CellScore(c["grade_id"], c["score"], c["max"], c["auto"]) for c in data["cells"]]
    return Result(
        student=data["student"],
        chapter=data["chapter"],
        status=data["status"],
        cells=cells,
        notes=list(data.get("notes", [])),
        flags=list(data.get("flags", [])),
        errors=list(data.get("errors", [])),
        not_run=list(data.get("not_run", [])),
    )


# ---------------------------------------------------------------------------------------------
# one job in its own process


def _context() -> multiprocessing.context.BaseContext:
    """A fork server that has imported the grading steps (and warmed their caches,
    :mod:`autograder.warm`): safe to use from a threaded worker.

    Forking a dask worker (an event loop and executor threads) could copy a lock held by another
    thread; the fork server is single-threaded, and forks from it start in milliseconds.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["autograder.runner", "autograder.steps", "autograder.warm"])
    main = multiprocessing.spawn.get_preparation_data("grading").get("init_main_from_path")
    if os.environ.get(MAIN_ENV) != main:  # read when the fork server starts
        if main:
            os.environ[MAIN_ENV] = main
        else:  # a module main (python -m), which a fork does not import; not the parent's path
            del os.environ[MAIN_ENV]
    return ctx


def warm_up() -> None:
    """Start this process's grading fork server and wait until it has imported what grading
    needs (its first fork returns then): ahead of the first task instead of inside it."""
    process = _context().Process(target=os.getpid)
    process.start()
    process.join()


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent (the fork server) goes: no orphan grading."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the job simply outlives a lost worker
        pass


def _child(job: steps.Job, env: dict[str, str]) -> None:
    """Body of a grading process: grade, write the result file, exit without cleanup."""
    code = 1
    try:
        _die_with_parent()
        log = os.open(job.work / "job.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)  # nbgrader, SQLAlchemy and the kernel talk on stdout/stderr: keep it here
        os.dup2(log, 2)
        os.environ.update(env)
        from autograder import steps

        result = steps.run(job)
        steps.write_atomic(job.work / "result.json", json.dumps(result))
        code = 0
    finally:
        os._exit(code)  # skip the parent's atexit handlers and buffered output


def _failed(job: steps.Job, reason: str) -> Result:
    """A result for a job whose process died or overran: every graded cell scores zero."""
    from autograder import steps

    try:
        steps.load_expected(job)
    except Exception as exc:  # the template itself is broken: say so, keep the row
        reason += f"; and the chapter's source could not be read ({exc})"
    job.status = ERROR
    job.notes.insert(0, reason)
    steps.write_feedback(job)
    return result_from_job(job.result())


def run_isolated(job: steps.Job, env: dict[str, str], wall_limit: float) -> Result:
    """Grade ``job`` in a child process; a child that dies or overruns ``wall_limit`` s scores 0.

    A crash, hang or memory blow-up of one submission then never reaches the caller (a dask
    worker, or the self-test's process).
    """
    job.work.mkdir(parents=True, exist_ok=True)
    result_path = job.work / "result.json"
    result_path.unlink(missing_ok=True)
    proc = _context().Process(target=_child, args=(job, env), daemon=False)
    proc.start()
    proc.join(wall_limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return _failed(job, f"grading took longer than {wall_limit:.0f} s in total and was stopped")
    if proc.exitcode == 0 and result_path.exists():
        return result_from_job(json.loads(result_path.read_text(encoding="utf-8")))
    log = job.work / "job.log"
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    return _failed(
        job, f"the grading process died (exit code {proc.exitcode}) {' '.join(tail)}".strip()
    )


class Ran(NamedTuple):
    """A job's result and the wall seconds its grading process took."""

    result: Result
    seconds: float


def run_jobs(
    jobs: list[steps.Job],
    env: dict[str, str],
    workers: int = 1,
    wall_limit: float = 1800.0,
    *,
    first: Callable[[steps.Job], bool] | None = None,
) -> list[Ran]:
    """Grade prepared jobs on this machine, ``workers`` at a time, each with :func:`run_isolated`;
    results in job order. (The self-test's way: its jobs' files are on this machine already.)

    Jobs for which ``first`` is true start before the others: the longest ones, so that the pool
    does not end with one long run on one core while the other waits.
    """
    order = (
        sorted(range(len(jobs)), key=lambda i: not first(jobs[i])) if first else range(len(jobs))
    )

    def one(job: steps.Job) -> Ran:
        start = time.perf_counter()
        result = run_isolated(job, env, wall_limit)
        return Ran(result, time.perf_counter() - start)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        done = dict(zip(order, pool.map(one, [jobs[i] for i in order]), strict=True))
    return [done[i] for i in range(len(jobs))]


# ---------------------------------------------------------------------------------------------
# the task a worker runs


def _make_job(task: Task, template: Path, work: Path, options: grade.Options) -> steps.Job:
    from autograder import steps

    submission = None
    if task.submission is not None:
        submission = work / "submitted" / (task.name or f"{task.chapter}.ipynb")
        submission.parent.mkdir(parents=True, exist_ok=True)
        submission.write_bytes(task.submission)
    return steps.Job(
        student=task.student,
        chapter=task.chapter,
        submission=submission,
        template=template,
        work=work / "job",
        feedback_path=work / "feedback.html",
        timeout=options.timeout,
        restore_missing=options.restore_missing,
        notes=list(task.notes),
        sandbox=options.sandbox,
    )


def grade_task(
    task: Task, template: Template, options: grade.Options, env: dict[str, str]
) -> Graded:
    """Grade one submission wherever this runs; return the result and the feedback HTML.

    ``env`` is the grading kernel's environment (fast mode, threads...), decided by the client.
    """
    started = time.perf_counter()
    if multiprocessing.current_process().daemon:
        raise RuntimeError(
            "this dask worker is a daemonic process and cannot start grading processes: "
            "start workers with DASK_DISTRIBUTED__WORKER__DAEMON=False"
        )
    with tempfile.TemporaryDirectory(prefix="autograder-task-") as tmp:
        work = Path(tmp)
        course = template.unpack(work / "template")
        job = _make_job(task, course, work, options)
        result = run_isolated(job, env, options.wall_limit())
        page = job.feedback_path.read_text(encoding="utf-8") if job.feedback_path.exists() else ""
    return Graded(result, page, time.perf_counter() - started, socket.gethostname())
