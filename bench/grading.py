"""Grading cost against plain execution, and each chapter's fast-mode run time.

Run: ``python bench/grading.py [CH ...] [--repeats R]``. For each chapter, in one run and
interleaved so machine load hits both alike, it times

- baseline: executing the solution notebook top to bottom with nbclient (what a reader does), and
- grading: ``autograder`` grading that same notebook as one student's submission (nbgrader's
  autograde with restored test cells, the gradebook and the feedback page),

then prints the medians, the ratio grading / baseline per chapter and for the whole course
(budget: <= 1.5), and flags chapters over the fast-mode budget (60 s each, 6 min in all).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder import chapters, course, grade, runner, sandbox, steps

NOTEBOOK_BUDGET_S = 60
COURSE_BUDGET_S = 360
RATIO_BUDGET = 1.5


def execute(path: Path) -> float:
    """Execute a notebook in a fresh kernel; return wall seconds."""
    nb = nbformat.read(str(path), as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return time.perf_counter() - start


def grade_one(
    chapter: chapters.Chapter,
    template: Path,
    work: Path,
    settings: sandbox.Sandbox | None = None,
) -> tuple[float, runner.Result]:
    """Grade the solution as one student's submission, as ``grade`` does (in ``settings``'s
    sandbox, or unconfined); return wall seconds and the result."""
    shutil.rmtree(work, ignore_errors=True)
    student = work / "class" / "reader"
    student.mkdir(parents=True)
    shutil.copyfile(chapter.solution, student / chapter.solution.name)
    job = steps.Job(
        student="reader",
        chapter=chapter.name,
        submission=student / chapter.solution.name,
        template=template,
        work=work / "job",
        feedback_path=work / "feedback.html",
        timeout=600,
        sandbox=settings,
    )
    options = grade.Options(workers=1, sandbox=settings)
    start = time.perf_counter()
    result = grade.run_jobs([job], options)[0].result
    elapsed = time.perf_counter() - start
    if result.status != "graded":
        how = f" ({settings.mode})" if settings is not None else ""
        raise SystemExit(f"{chapter.name}{how}: grading failed: {result.notes[:2]}")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("COURSE_FAST", "1")
    os.environ.setdefault("COURSE_OFFLINE", "1")

    picked = chapters.find_chapters(names=args.chapters or None)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        template = Path(tmp) / "template"
        course.build_course(template, picked)
        rows = []
        for chapter in picked:
            base, graded = [], []
            for _ in range(args.repeats):
                base.append(execute(chapter.solution))
                graded.append(grade_one(chapter, template, Path(tmp) / "work")[0])
            rows.append((chapter.name, statistics.median(base), statistics.median(graded)))

    print(f"{'chapter':<16}{'execute s':>11}{'grade s':>10}{'ratio':>8}  fast-mode budget")
    for name, base, graded in rows:
        flag = "ok" if base <= NOTEBOOK_BUDGET_S else f"OVER {NOTEBOOK_BUDGET_S} s"
        print(f"{name:<16}{base:>11.1f}{graded:>10.1f}{graded / base:>8.2f}  {flag}")
    total_base = sum(r[1] for r in rows)
    total_graded = sum(r[2] for r in rows)
    print(
        f"{'course':<16}{total_base:>11.1f}{total_graded:>10.1f}{total_graded / total_base:>8.2f}  "
        f"{'ok' if total_base <= COURSE_BUDGET_S else f'OVER {COURSE_BUDGET_S} s'}"
    )
    print(f"grading / execution ratio: {total_graded / total_base:.2f} (budget <= {RATIO_BUDGET})")


if __name__ == "__main__":
    main()
