"""The command line: ``python -m autograder release|validate|grade|selftest|strip``.

Each command parses its options and calls one function of the pipeline; no grading logic here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from autograder import chapters as chapters_mod
from autograder import grade, release, sandbox, selftest, validate
from autograder.chapters import REPO_ROOT

__all__ = ["main"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--solutions", type=Path, default=REPO_ROOT / "solutions", help="instructor notebooks"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    p.add_argument("chapters", nargs="*", help="NN_topic or NN (default: all)")
    p.add_argument(
        "--check", action="store_true", help="exit 1 if notebooks/ is out of date or leaks"
    )
    p.add_argument("--notebooks", type=Path, default=REPO_ROOT / "notebooks")

    p = sub.add_parser(
        "validate", help="run a notebook and its visible tests (exit 1 on any failure)"
    )
    p.add_argument("notebook", type=Path)
    p.add_argument("--timeout", type=_positive, default=120, help="seconds per cell")

    p = sub.add_parser(
        "grade", help="grade DIR/<student>/<NN_topic>.ipynb on dask (this machine or a cluster)"
    )
    p.add_argument("dir", type=Path)
    p.add_argument("--out", type=Path, default=Path("grading"))
    p.add_argument(
        "--workers",
        type=_positive,
        default=max(1, (os.cpu_count() or 2) // 2),
        help="worker processes of the embedded dask cluster (default: half the cores)",
    )
    p.add_argument(
        "--cluster",
        default=None,
        metavar="tcp://HOST:8786",
        help="a running dask scheduler to send the tasks to (default: $DASK_SCHEDULER_ADDRESS, "
        "else an embedded cluster on this machine)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="grade every submission again (default: keep OUT's results for unchanged ones)",
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default=None)
    p.add_argument("--timeout", type=_positive, default=60, help="seconds per cell")
    p.add_argument("--chapters", nargs="*", default=None, help="default: those submitted")
    p.add_argument(
        "--full", action="store_true", help="grade in full mode (default: COURSE_FAST=1)"
    )
    p.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "none"],
        default="auto",
        help="confine each kernel with bubblewrap (auto: when this machine allows it)",
    )
    p.add_argument(
        "--memory",
        type=sandbox.parse_size,
        default="4G",
        help="memory a notebook may add to its kernel's start-up size (default 4G; 0: no limit)",
    )
    p.add_argument(
        "--processes",
        type=_positive,
        default=256,
        help="processes + threads per kernel (default 256)",
    )

    p = sub.add_parser("selftest", help="prove the grader on each chapter")
    p.add_argument("chapters", nargs="*")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 2)
    p.add_argument("--timeout", type=_positive, default=120, help="seconds per cell")
    p.add_argument(
        "--isolated", action="store_true", help="grade each mutant in its own notebook run (slow)"
    )
    p.add_argument(
        "--executed",
        type=Path,
        default=None,
        help="keep each chapter's executed solution notebook in this folder",
    )

    p = sub.add_parser("strip", help="clear outputs and editor metadata, keep nbgrader metadata")
    p.add_argument("notebooks", nargs="+", type=Path)
    return parser


def _release(args: argparse.Namespace) -> int:
    chapters = chapters_mod.find_chapters(args.solutions, args.chapters)
    if args.check:
        problems = release.check(chapters, args.notebooks, strays=not args.chapters)
        for problem in problems:
            print(problem)
        print("release check: " + ("FAILED" if problems else f"OK ({len(chapters)} chapters)"))
        return 1 if problems else 0
    for path in release.release(chapters, args.notebooks):
        print(f"wrote {path}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    ok, report = validate.validate(args.notebook, timeout=args.timeout)
    print(report, end="")
    return 0 if ok else 1


def _grade(args: argparse.Namespace) -> int:
    address = args.cluster or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if args.device == "cuda" and address is None:  # a cluster's GPU workers are checked there
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                "--device cuda was asked for, but CUDA is not available on this machine"
            )
    all_chapters = chapters_mod.find_chapters(args.solutions, args.chapters)
    chapters = all_chapters if args.chapters else grade.chapters_submitted(args.dir, all_chapters)
    settings = sandbox.resolve(
        args.sandbox, memory=args.memory, processes=args.processes, device=args.device
    )
    print(
        grade.sandbox_banner(settings),
        end="",
        file=sys.stderr if not settings.active else sys.stdout,
    )
    options = grade.Options(
        timeout=args.timeout,
        workers=args.workers,
        device=args.device,
        fast=not args.full,
        sandbox=settings,
        cluster=address,
    )
    results = grade.grade_class(
        args.dir, args.out, chapters, options, log=sys.stdout, fresh=args.fresh, progress=True
    )
    names = ", ".join(
        str(args.out / name)
        for name in ("grades.csv", "grades_wide.csv", "report.txt", "report.html", "feedback/")
    )
    print(f"wrote {names} ({len(results)} notebooks)")
    return 0


def _selftest(args: argparse.Namespace) -> int:
    options = grade.Options(timeout=args.timeout, workers=args.workers)
    report, ok = {"chapters": {}}, True
    found = chapters_mod.find_chapters(args.solutions, args.chapters)
    print(
        f"self-testing {len(found)} chapter(s): solution, release and mutants of each, "
        f"{options.workers} kernel(s) at a time ..."
    )
    results = selftest.selftest_chapters(
        found, options, isolated=args.isolated, executed_dir=args.executed
    )
    for chapter, result in zip(found, results, strict=True):
        report["chapters"][chapter.name] = result.figures()
        verdict = "OK" if result.passed() else "FAILED"
        ok &= verdict == "OK"
        print(
            f"{chapter.name}: {verdict}  solution {result.solution_score:g}/{result.max_score:g}, "
            f"release {result.release_score:g}, {result.exercises} exercises, "
            f"mutants killed {result.mutants_killed}/{len(result.mutants)}, "
            f"leaks {len(result.leaks)}, {result.seconds:.0f} s"
        )
        for problem in result.problems + [f"leak: {line}" for line in result.leaks]:
            print(f"    - {problem}")
        if args.json:
            args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if ok else 1


def _strip(args: argparse.Namespace) -> int:
    from autograder.strip import strip_file

    for path in args.notebooks:
        strip_file(path)
    return 0


COMMANDS = {
    "release": _release,
    "validate": _validate,
    "grade": _grade,
    "selftest": _selftest,
    "strip": _strip,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (2 for bad usage or input)."""
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
