"""Grading a class on dask: the speed-up from 1 to 2 workers, and the cost per submission.

Run: ``python bench/class_grading.py [--chapter 01] [--students 24] [--repeats 1]``. It writes a
class of ``--students`` submissions of one chapter, a third each: full solutions, untouched
releases (blank) and partly wrong ones (the chapter's solution with one of its mutants in
place), and then, interleaved so machine load hits each alike,

- baseline: executes every submission alone, one after the other, with nbclient in a fresh
  kernel, as ``jupyter execute`` does (what grading cannot do with less: run the notebook);
  and once more with the kernel killed at the end instead of shut down gracefully, as grading
  does (the leanest way to run it: the floor);
- grades the class into a fresh OUT with ``--workers 1`` and with ``--workers 2`` through
  ``grade``'s own path (embedded LocalCluster, template build, sandbox as ``--sandbox``,
  client-side writes included).

It prints the seconds, the speed-up of 2 workers over 1 (goal >= 1.7 on 2 cores) and the
per-submission overhead: grading with 1 worker against executing alone (goal <= 1.10), and
against the floor.
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

from autograder import chapters, grade, release, sandbox
from autograder.chapters import cell_grade_id

SPEEDUP_GOAL = 1.7
OVERHEAD_GOAL = 1.10


def write_class(chapter: chapters.Chapter, released: Path, class_dir: Path, n: int) -> None:
    """``n`` students: full, blank and partly wrong (one mutant each, in turn), in rotation."""
    solution = nbformat.read(str(chapter.solution), as_version=4)
    blank = nbformat.read(str(released), as_version=4)
    mutants = chapter.mutants()
    for i in range(n):
        kind = ("full", "blank", "wrong")[i % 3]
        nb = blank if kind == "blank" else nbformat.from_dict(solution)
        if kind == "wrong" and mutants:
            mutant = mutants[(i // 3) % len(mutants)]
            for cell in nb.cells:
                if cell_grade_id(cell) == f"{mutant.exercise}_solution":
                    cell.source = mutant.source
        folder = class_dir / f"s{i:03d}_{kind}"
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{chapter.name}.ipynb"))


def execute_alone(
    class_dir: Path, timeout: int, env: dict[str, str], shutdown: str = "graceful"
) -> float:
    """Execute every submission in a fresh kernel, one after the other; return wall seconds.

    ``shutdown`` "immediate" kills each kernel after its last cell, as grading does.
    """
    saved = dict(os.environ)
    os.environ.update(env)  # the kernels' environment, as a 1-worker grading run sets it
    try:
        start = time.perf_counter()
        for path in sorted(class_dir.glob("*/*.ipynb")):
            nb = nbformat.read(str(path), as_version=4)
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                allow_errors=True,
                shutdown_kernel=shutdown,
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)


def grade_class(class_dir: Path, out: Path, chapter: chapters.Chapter, options) -> float:
    """Grade the class into a fresh ``out`` as ``grade`` does; return wall seconds."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    results = grade.grade_class(class_dir, out, [chapter], options, log=open(os.devnull, "w"))
    elapsed = time.perf_counter() - start
    bad = [r for r in results if r.status != "graded"]
    if bad:
        raise SystemExit(f"{len(bad)} submissions were not graded: {bad[0].notes[:2]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default="01")
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    parser.add_argument(
        "--sandbox", choices=["auto", "bwrap", "none"], default="auto", help="as grade's option"
    )
    args = parser.parse_args()
    os.environ.setdefault("COURSE_FAST", "1")
    os.environ.setdefault("COURSE_OFFLINE", "1")
    chapter = chapters.find_chapters(names=[args.chapter])[0]

    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        root = Path(tmp)
        release.release([chapter], root / "notebooks")
        class_dir = root / "class"
        write_class(chapter, root / "notebooks" / f"{chapter.name}.ipynb", class_dir, args.students)
        settings = sandbox.resolve(args.sandbox)
        one = grade.Options(timeout=args.timeout, workers=1, sandbox=settings)
        two = grade.Options(timeout=args.timeout, workers=2, sandbox=settings)
        base, floor, t1, t2 = [], [], [], []
        for _ in range(args.repeats):
            base.append(execute_alone(class_dir, args.timeout, one.kernel_env()))
            floor.append(execute_alone(class_dir, args.timeout, one.kernel_env(), "immediate"))
            t1.append(grade_class(class_dir, root / "out1", chapter, one))
            t2.append(grade_class(class_dir, root / "out2", chapter, two))
    base_s, floor_s, one_s, two_s = (statistics.median(x) for x in (base, floor, t1, t2))
    n = args.students
    speedup = one_s / two_s
    overhead = one_s / base_s
    print(
        f"class: {n} submissions of {chapter.name} (full, blank, partly wrong), fast mode, "
        f"sandbox: {settings.mode}"
    )
    print(f"{'':<34}{'total s':>9}{'per submission s':>18}")
    print(f"{'execute alone (nbclient)':<34}{base_s:>9.1f}{base_s / n:>18.2f}")
    print(f"{'execute alone, kernel killed':<34}{floor_s:>9.1f}{floor_s / n:>18.2f}")
    print(f"{'grade, 1 worker':<34}{one_s:>9.1f}{one_s / n:>18.2f}")
    print(f"{'grade, 2 workers':<34}{two_s:>9.1f}{two_s / n:>18.2f}")
    print(f"speed-up 2 workers / 1: {speedup:.2f}x (goal >= {SPEEDUP_GOAL})")
    print(f"overhead, grading / executing alone: {overhead:.2f}x (goal <= {OVERHEAD_GOAL})")
    print(f"overhead, grading / the floor (kernel killed): {one_s / floor_s:.2f}x")


if __name__ == "__main__":
    main()
