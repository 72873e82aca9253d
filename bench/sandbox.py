"""What the bubblewrap sandbox costs: grading whole chapters in it against grading them without.

Run: ``python bench/sandbox.py [CH ...] [--repeats R]``. For each chapter, in one run and
interleaved so machine load hits both alike, it grades the solution notebook as one student's
submission twice, the way ``grade`` does (kernel start, every cell, the guard, the gradebook,
the feedback page):

- baseline: ``--sandbox none`` (the kernel runs as a plain process);
- sandboxed: ``--sandbox bwrap`` (the kernel in bubblewrap, as nobody when run as root, over IPC).

It prints the medians and the ratio per chapter and for the course (budget: <= 1.10), and checks
that both gave the same scores and the same errors, so the sandbox changes nothing a student sees.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from grading import grade_one  # bench/grading.py: this folder is on the path when run

from autograder import chapters, course, sandbox

RATIO_BUDGET = 1.10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("COURSE_FAST", "1")
    os.environ.setdefault("COURSE_OFFLINE", "1")
    confined = sandbox.resolve("bwrap")
    plain = sandbox.resolve("none")
    picked = chapters.find_chapters(names=args.chapters or None)
    rows, mismatches = [], []
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        template = Path(tmp) / "template"
        course.build_course(template, picked)
        for chapter in picked:
            times: dict[str, list[float]] = {"none": [], "bwrap": []}
            for repeat in range(args.repeats):
                order = (plain, confined) if repeat % 2 == 0 else (confined, plain)
                results = {}
                for settings in order:
                    seconds, results[settings.mode] = grade_one(
                        chapter, template, Path(tmp) / "work", settings
                    )
                    times[settings.mode].append(seconds)
                for key in ("cells", "errors"):
                    plain_side, boxed_side = (getattr(results[m], key) for m in ("none", "bwrap"))
                    if plain_side != boxed_side:
                        mismatches.append(
                            f"{chapter.name}: {key} differ in the sandbox:\n"
                            f"    without: {plain_side}\n    in bwrap: {boxed_side}"
                        )
            rows.append(
                (chapter.name, statistics.median(times["none"]), statistics.median(times["bwrap"]))
            )

    print(f"sandbox: {confined.bwrap}")
    print(f"{'chapter':<16}{'none s':>9}{'bwrap s':>10}{'ratio':>8}")
    for name, base, boxed in rows:
        print(f"{name:<16}{base:>9.1f}{boxed:>10.1f}{boxed / base:>8.2f}")
    total_base, total_boxed = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'course':<16}{total_base:>9.1f}{total_boxed:>10.1f}{total_boxed / total_base:>8.2f}")
    verdict = "ok" if total_boxed / total_base <= RATIO_BUDGET else "OVER BUDGET"
    print(
        f"sandbox overhead ratio: {total_boxed / total_base:.2f} "
        f"(budget <= {RATIO_BUDGET}) {verdict}"
    )
    for line in mismatches:
        print(f"WARNING: {line}")
    if not mismatches:
        print("scores and errors identical with and without the sandbox")


if __name__ == "__main__":
    main()
