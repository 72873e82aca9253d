"""Grade a class: ``DIR/<student>/<NN_topic>.ipynb`` -> ``grades.csv`` and feedback pages."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder import course, job, sandbox, steps
from autograder.chapters import Chapter, chapter_number, read_notebook

__all__ = ["Options", "locate", "chapters_submitted", "grade_class", "write_grades", "CSV_FIELDS"]

CSV_FIELDS = ["student", "chapter", "grade_id", "score", "max", "flagged"]
SAFE_NAME = re.compile(r"^[\w.@+-]+$")


@dataclass
class Options:
    """How to grade: per-cell timeout, parallel workers, device, fast mode, restoring cells, sandbox.

    ``sandbox`` None grades without one (trusted notebooks: the self-test); ``grade`` resolves
    ``--sandbox auto`` into settings with :func:`autograder.sandbox.resolve`.
    """

    timeout: int = 60
    workers: int = 1
    device: str | None = None  # None: let course_lib.devices choose
    fast: bool = True
    restore_missing: bool = True
    sandbox: sandbox.Sandbox | None = None

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


def grade_class(
    class_dir: Path,
    out_dir: Path,
    chapters: list[Chapter],
    options: Options,
    log: Iterable | None = None,
) -> list[dict]:
    """Grade every student folder in ``class_dir``; write grades.csv, feedback/ and report.txt.

    Returns one result per student and chapter, in order.
    """
    if not class_dir.is_dir():
        raise FileNotFoundError(f"class folder {class_dir} does not exist")
    students = sorted(p for p in class_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        template = Path(tmp) / "template"
        course.build_course(template, chapters)
        jobs = []
        for student_dir in students:
            if not SAFE_NAME.match(student_dir.name):
                continue
            located = locate(student_dir, chapters)
            for chapter in chapters:
                jobs.append(
                    steps.Job(
                        student=student_dir.name,
                        chapter=chapter.name,
                        submission=located.notebooks.get(chapter.name),
                        template=template,
                        work=Path(tmp) / "jobs" / student_dir.name / chapter.name,
                        feedback_path=out_dir
                        / "feedback"
                        / student_dir.name
                        / f"{chapter.name}.html",
                        timeout=options.timeout,
                        restore_missing=options.restore_missing,
                        sandbox=options.sandbox,
                        notes=list(located.notes.get(chapter.name, [])),
                    )
                )
        skipped = [p.name for p in students if not SAFE_NAME.match(p.name)]
        results = run_jobs(jobs, options)
    write_grades(out_dir / "grades.csv", results)
    report = sandbox_banner(options.sandbox) + format_report(results, skipped)
    steps.write_atomic(out_dir / "report.txt", report)
    if log is not None:
        log.write(report)
    return results


def run_jobs(jobs: list[steps.Job], options: Options) -> list[dict]:
    """Run grading jobs, ``options.workers`` at a time, each in its own process; keep their order."""
    return job.run_jobs(jobs, options.kernel_env(), options.workers, options.wall_limit())


def write_grades(path: Path, results: list[dict]) -> None:
    """Write one row per student, chapter and graded cell, atomically (never half a gradebook)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        for cell in result["cells"]:
            score = "" if cell["score"] is None else f"{cell['score']:g}"
            writer.writerow(
                {
                    "student": result["student"],
                    "chapter": result["chapter"],
                    "grade_id": cell["grade_id"],
                    "score": score,
                    "max": f"{cell['max']:g}",
                    "flagged": "yes" if result.get("flags") else "",
                }
            )
    steps.write_atomic(path, buffer.getvalue())


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


def format_report(results: list[dict], skipped: list[str] = ()) -> str:
    """Return the human-readable report: a line per student and chapter, then its notes."""
    lines = []
    for result in results:
        auto = [c for c in result["cells"] if c["auto"]]
        manual = [c for c in result["cells"] if not c["auto"]]
        got = sum(c["score"] or 0 for c in auto)
        total = sum(c["max"] for c in auto)
        extra = f" (+{sum(c['max'] for c in manual):g} to grade by hand)" if manual else ""
        flagged = " FLAGGED FOR REVIEW" if result.get("flags") else ""
        lines.append(
            f"{result['student']} {result['chapter']}: {got:g}/{total:g}{extra} "
            f"[{result['status']}]{flagged}"
        )
        lines += [f"    ! {flag}" for flag in result.get("flags", [])]
        lines += [f"    - {note}" for note in result["notes"]]
    lines += [f"skipped folder {name!r}: not a usable student id" for name in skipped]
    return "\n".join(lines) + "\n"
